//! Where a run store lives: a SQLite file (the default, one machine) or a Postgres database
//! shared by a team and by the shards of a run on several machines (`--store postgres://…`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A run store's place, as `--store` names it. `Debug` prints what `Display` does: never the
/// password.
#[derive(Clone, PartialEq, Eq)]
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

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

fn is_postgres_url(text: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|scheme| {
        text.len() >= scheme.len() && text[..scheme.len()].eq_ignore_ascii_case(scheme)
    })
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a `password=` query
/// parameter is hidden the same way. A URL that does not parse is not printed at all.
fn without_password(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "postgres://*** (not a valid URL)".to_string();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url
        .query_pairs()
        .any(|(key, _)| key.eq_ignore_ascii_case("password"))
    {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if key.eq_ignore_ascii_case("password") {
                    "***".to_string()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
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
            assert!(!format!("{location:?}").contains("s3cret"));
        }
        // A password with a character a URL must encode, left unencoded: nothing is printed
        // rather than a part of it.
        for url in [
            "postgres://u:s3cret/x@db/runs",
            "postgres://u:s3c#ret@db/runs",
        ] {
            let shown = url.parse::<StoreLocation>().unwrap().to_string();
            assert!(!shown.contains("s3c"), "{url} shown as {shown}");
        }
    }
}
