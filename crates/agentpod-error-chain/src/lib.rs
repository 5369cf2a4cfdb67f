//! An error and every cause under it as one line, `what failed: why: why`, the one way agentpod
//! writes an error for a person: the command line's messages, an issue's outcome reason, a pod's
//! failure.
//!
//! agentpod's own errors say only their own layer and keep the cause as `source()` (thiserror's
//! `#[source]`/`#[from]`), so the chain is the message. Some foreign errors print their cause in
//! their own text as well (an I/O error inside a database driver's error, say); a cause whose text
//! the line already ends with is not written twice. Nothing else is dropped: a cause that only
//! appears somewhere inside its parent's text is still written.

use std::error::Error;
use std::fmt;

/// Displays an error and its causes joined by `": "`.
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !text.is_empty() && !written.ends_with(&text) {
                written.push_str(": ");
                written.push_str(&text);
            }
            cause = error.source();
        }
        formatter.write_str(&written)
    }
}

/// The error and its causes as one line.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    ErrorChain(error).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Root;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write {file}")]
    struct Write {
        file: &'static str,
        #[source]
        source: Root,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot save the run")]
    struct Save(#[from] Write);

    /// A foreign error that prints its cause in its own text, as some drivers do.
    #[derive(Debug, thiserror::Error)]
    #[error("error communicating with the server: {0}")]
    struct Chatty(#[source] Root);

    #[derive(Debug, thiserror::Error)]
    #[error("the cause was: disk full, then more")]
    struct Mentions(#[source] Root);

    #[test]
    fn every_layer_appears_once_in_order() {
        let error = Save(Write {
            file: "runs.db",
            source: Root,
        });
        assert_eq!(
            error_chain(&error),
            "cannot save the run: cannot write runs.db: disk full"
        );
        assert_eq!(error_chain(&Root), "disk full");
    }

    #[test]
    fn a_cause_its_parent_already_ends_with_is_not_repeated() {
        assert_eq!(
            error_chain(&Chatty(Root)),
            "error communicating with the server: disk full"
        );
        // Only a repeated ending is dropped, never a cause merely mentioned inside the text.
        assert_eq!(
            error_chain(&Mentions(Root)),
            "the cause was: disk full, then more: disk full"
        );
    }
}
