//! The issues a gateway serves, by token: each registered issue's state under a fresh
//! [`IssueToken`], found by the token a request carries until the token is revoked. Every
//! gateway keeps its own per-issue state (`T`) here and only that.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::issue_token::IssueToken;

/// Tokens → issues' state.
#[derive(Debug)]
pub struct IssueRegistry<T> {
    issues: RwLock<HashMap<IssueToken, Arc<T>>>,
}

impl<T> Default for IssueRegistry<T> {
    fn default() -> IssueRegistry<T> {
        IssueRegistry {
            issues: RwLock::new(HashMap::new()),
        }
    }
}

impl<T> IssueRegistry<T> {
    /// Registers `issue` under a fresh token, never one in use, and returns the token.
    pub fn register(&self, issue: T) -> IssueToken {
        let mut issues = self.write();
        let token = loop {
            let token = IssueToken::generate();
            if !issues.contains_key(&token) {
                break token;
            }
        };
        issues.insert(token.clone(), Arc::new(issue));
        token
    }

    /// The issue `token` opens; `None` for a token never issued or already revoked.
    pub fn get(&self, token: &str) -> Option<Arc<T>> {
        self.read().get(token).cloned()
    }

    /// Revokes `token`: from now on it opens nothing. Returns the issue's state; requests still
    /// in flight may hold it a little longer.
    pub fn revoke(&self, token: &str) -> Option<Arc<T>> {
        self.write().remove(token)
    }

    /// Revokes every token, returning the issues' state.
    pub fn revoke_all(&self) -> Vec<Arc<T>> {
        self.write().drain().map(|(_, issue)| issue).collect()
    }

    // A panic while holding the lock leaves the map whole (inserts and removes do not unwind
    // half-way), so a poisoned lock is still used.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<IssueToken, Arc<T>>> {
        self.issues
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<IssueToken, Arc<T>>> {
        self.issues
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_own_issue_and_no_other() {
        let registry = IssueRegistry::default();
        let first = registry.register("issue-1");
        let second = registry.register("issue-2");
        assert_ne!(first, second);
        assert_eq!(registry.get(&first).as_deref(), Some(&"issue-1"));
        assert_eq!(registry.get(&second).as_deref(), Some(&"issue-2"));
        assert_eq!(registry.get("agentpod-not-issued"), None);
        // A prefix or an extension of a token is a different token.
        assert_eq!(registry.get(&first[..first.len() - 1]), None);
        assert_eq!(registry.get(&format!("{first}x")), None);
    }

    #[test]
    fn a_revoked_token_is_refused_and_the_others_still_open() {
        let registry = IssueRegistry::default();
        let first = registry.register("issue-1");
        let second = registry.register("issue-2");
        assert_eq!(registry.revoke(&first).as_deref(), Some(&"issue-1"));
        assert_eq!(registry.get(&first), None);
        assert_eq!(registry.revoke(&first), None, "revoked once only");
        assert_eq!(registry.get(&second).as_deref(), Some(&"issue-2"));
    }

    #[test]
    fn revoking_all_leaves_no_token_open() {
        let registry = IssueRegistry::default();
        let tokens = [registry.register(1), registry.register(2)];
        let mut revoked: Vec<i32> = registry.revoke_all().iter().map(|issue| **issue).collect();
        revoked.sort();
        assert_eq!(revoked, [1, 2]);
        assert!(tokens.iter().all(|token| registry.get(token).is_none()));
    }
}
