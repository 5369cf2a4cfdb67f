//! The one token format every gateway hands an issue: `agentpod-` and 40 random letters and
//! digits (about 238 bits), safe in a header, a URL path and an environment variable alike.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use rand::RngExt;
use rand::distr::Alphanumeric;

const PREFIX: &str = "agentpod-";
const RANDOM_CHARACTERS: usize = 40;

/// One issue's secret at one gateway: whoever presents it acts as that issue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssueToken(String);

impl IssueToken {
    /// A fresh random token.
    pub(crate) fn generate() -> IssueToken {
        let random: String = rand::rng()
            .sample_iter(Alphanumeric)
            .map(char::from)
            .take(RANDOM_CHARACTERS)
            .collect();
        IssueToken(format!("{PREFIX}{random}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for IssueToken {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for IssueToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// So a registry keyed by tokens is searched with the `&str` a request carries.
impl Borrow<str> for IssueToken {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IssueToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl From<IssueToken> for String {
    fn from(token: IssueToken) -> String {
        token.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_format_and_differ() {
        let first = IssueToken::generate();
        let second = IssueToken::generate();
        assert_ne!(first, second);
        for token in [&first, &second] {
            let random = token.strip_prefix(PREFIX).expect("the agentpod- prefix");
            assert_eq!(random.len(), RANDOM_CHARACTERS);
            assert!(
                random
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric())
            );
        }
    }
}
