//! The error [`crate::load`] returns: every problem found in the spec, not just the first.

use crate::Diagnostic;

/// All problems found while loading a pod spec, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_all(.diagnostics))]
pub struct SpecError {
    pub diagnostics: Vec<Diagnostic>,
}

fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::render)
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_renders_every_diagnostic() {
        let error = SpecError {
            diagnostics: vec![
                Diagnostic::new("a.yaml", 1, 1, "first problem"),
                Diagnostic::new("a.yaml", 2, 1, "second problem"),
            ],
        };
        let rendered = error.to_string();
        assert!(rendered.starts_with("error: first problem\n"), "{rendered}");
        assert!(
            rendered.contains("\n\nerror: second problem\n"),
            "{rendered}"
        );
    }
}
