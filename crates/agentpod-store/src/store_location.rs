//! Where a run store lives: a SQLite file (the default, one machine) or a Postgres database
//! shared by a team and by the shards of a run on several machines (`--store postgres://…`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A run store's place, as `--store` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file, created if missing.
    File(PathBuf),
    /// A Postgres database (`postgres://user:password@host:port/database`); migrated on open.
    Postgres(String),
}

impl StoreLocation {
    /// The SQLite file, when the store is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreLocation::File(path) => Some(path),
            StoreLocation::Postgres(_) => None,
        }
    }
}

impl FromStr for StoreLocation {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(if is_postgres_url(text) {
            StoreLocation::Postgres(text.to_string())
        } else {
            StoreLocation::File(PathBuf::from(text))
        })
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> Self {
        StoreLocation::File(path.to_path_buf())
    }
}

/// The file's path, or the URL without its password: what is safe to print and log.
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

fn is_postgres_url(text: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        text.len() >= scheme.len() && text[..scheme.len()].eq_ignore_ascii_case(scheme)
    })
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a `password=` query
/// parameter is hidden the same way.
fn without_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else {
        return url.to_string();
    };
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_told_from_files() {
        for url in ["postgres://h/db", "postgresql://u@h/db", "POSTGRES://h/db"] {
            assert!(
                matches!(url.parse(), Ok(StoreLocation::Postgres(_))),
                "{url}"
            );
        }
        for path in [".agentpod/runs.db", "postgres.db", "/tmp/postgres://x"] {
            assert_eq!(
                path.parse::<StoreLocation>().unwrap(),
                StoreLocation::File(PathBuf::from(path))
            );
        }
    }

    #[test]
    fn a_printed_location_never_shows_the_password() {
        let cases = [
            (
                "postgres://agentpod:s3cret@db:5432/runs",
                "postgres://agentpod:***@db:5432/runs",
            ),
            ("postgres://agentpod@db/runs", "postgres://agentpod@db/runs"),
            (
                "postgres://u:p@ss@db/runs?sslmode=require",
                "postgres://u:***@db/runs?sslmode=require",
            ),
            (
                "postgres://db/runs?user=u&password=s3cret",
                "postgres://db/runs?user=u&password=***",
            ),
        ];
        for (url, shown) in cases {
            let location: StoreLocation = url.parse().unwrap();
            assert_eq!(location.to_string(), shown);
            assert!(!location.to_string().contains("s3cret"));
        }
    }
}
