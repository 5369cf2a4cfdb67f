//! `PostgresEndpoint`: where a pod's Postgres listens and its superuser credentials.

/// A Postgres server reachable from the host.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresEndpoint {
    pub host: String,
    pub port: u16,
    /// The superuser.
    pub user: String,
    pub password: String,
}

impl PostgresEndpoint {
    /// Connection URL for `user` on `database`.
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}",
            encode(user),
            encode(password),
            self.url_host(),
            self.port,
            encode(database)
        )
    }

    /// Connection URL for the superuser on `database`.
    pub fn admin_url(&self, database: &str) -> String {
        self.url(&self.user, &self.password, database)
    }

    fn url_host(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

// The password must never reach logs through `{:?}` of a pod or a request.
impl std::fmt::Debug for PostgresEndpoint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PostgresEndpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so any user, password or
/// database name survives inside a URL.
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> PostgresEndpoint {
        PostgresEndpoint {
            host: "172.18.0.2".to_string(),
            port: 5432,
            user: "postgres".to_string(),
            password: "s3cret".to_string(),
        }
    }

    #[test]
    fn admin_url_uses_the_superuser() {
        assert_eq!(
            endpoint().admin_url("template_seed"),
            "postgres://postgres:s3cret@172.18.0.2:5432/template_seed"
        );
    }

    #[test]
    fn special_characters_are_encoded() {
        assert_eq!(
            endpoint().url("agent role", "p@ss:w/rd%", "issue-1"),
            "postgres://agent%20role:p%40ss%3Aw%2Frd%25@172.18.0.2:5432/issue-1"
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let endpoint = PostgresEndpoint {
            host: "::1".to_string(),
            ..endpoint()
        };
        assert_eq!(
            endpoint.admin_url("postgres"),
            "postgres://postgres:s3cret@[::1]:5432/postgres"
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let text = format!("{:?}", endpoint());
        assert!(!text.contains("s3cret"), "{text}");
    }
}
