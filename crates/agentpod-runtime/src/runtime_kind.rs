//! `RuntimeKind`: which runtime a user asked for (`--runtime docker|local`).

use std::fmt;
use std::str::FromStr;

use crate::error::RuntimeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    Docker,
    Local,
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Docker => "docker",
            Self::Local => "local",
        })
    }
}

impl FromStr for RuntimeKind {
    type Err = RuntimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "docker" => Ok(Self::Docker),
            "local" => Ok(Self::Local),
            _ => Err(RuntimeError::UnknownRuntimeKind(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for kind in [RuntimeKind::Docker, RuntimeKind::Local] {
            assert_eq!(kind.to_string().parse::<RuntimeKind>().ok(), Some(kind));
        }
        assert_eq!(
            "Docker".parse::<RuntimeKind>().ok(),
            Some(RuntimeKind::Docker)
        );
    }

    #[test]
    fn unknown_kinds_are_rejected_with_the_choices() {
        let error = "kubernetes"
            .parse::<RuntimeKind>()
            .err()
            .map(|error| error.to_string());
        let message = error.unwrap_or_default();
        assert!(message.contains("kubernetes"), "{message}");
        assert!(message.contains("`docker` or `local`"), "{message}");
    }
}
