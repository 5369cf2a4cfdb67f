//! How the records of an issues file become issues: which column or key is the id (or the row
//! number), which are the expected outcome (never shown to the agent), and which the agent gets.
//! The default is the files' own convention: an `id` column or key, `expected.<field>` columns
//! or an `expected` object, every other column or key for the agent.

/// Where an issue's id comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSource {
    /// A column (CSV) or top-level key (JSON lines).
    Field(String),
    /// The record's 1-based position among the file's records (not its line: a CSV cell can
    /// span lines); stable only as long as no record is inserted before it.
    Row,
}

/// The mapping from a file's columns or keys to an issue's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueMapping {
    pub id: IdSource,
    /// Columns or keys that are the answer: they go into the issue's `expected` part, beside
    /// any `expected.<field>` column or `expected` object the file has.
    pub expected: Vec<String>,
    /// The columns or keys the agent gets; `None`: every one not used as the id or the answer.
    pub fields: Option<Vec<String>>,
}

/// The id column or key when the mapping names none.
pub const DEFAULT_ID_FIELD: &str = "id";

impl Default for IssueMapping {
    fn default() -> IssueMapping {
        IssueMapping {
            id: IdSource::Field(DEFAULT_ID_FIELD.to_owned()),
            expected: Vec::new(),
            fields: None,
        }
    }
}

/// What one column or key of a record is, under a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    Id,
    Expected(String),
    Field(String),
    /// Not given to the agent nor kept: left out by `fields`, or a column named `id` that is
    /// not the id (the agent gets the issue's id under that name).
    Dropped,
}

impl IssueMapping {
    /// The role of the column or key `name`.
    pub(crate) fn role_of(&self, name: &str) -> Role {
        if matches!(&self.id, IdSource::Field(id) if id == name) {
            return Role::Id;
        }
        if self.expected.iter().any(|expected| expected == name) {
            return Role::Expected(name.to_owned());
        }
        if name == DEFAULT_ID_FIELD {
            return Role::Dropped;
        }
        match &self.fields {
            Some(fields)
                if !fields.iter().any(|field| field == name)
                    && !crate::issue::ALWAYS_KEPT_FIELDS.contains(&name) =>
            {
                Role::Dropped
            }
            _ => Role::Field(name.to_owned()),
        }
    }

    /// Every column or key the mapping names, with the spec key that names it, for checking
    /// them against the file.
    pub(crate) fn named(&self) -> Vec<(&str, &'static str)> {
        let mut named = Vec::new();
        if let IdSource::Field(id) = &self.id
            && id != DEFAULT_ID_FIELD
        {
            named.push((id.as_str(), "issues.id"));
        }
        named.extend(
            self.expected
                .iter()
                .map(|name| (name.as_str(), "issues.expected")),
        );
        if let Some(fields) = &self.fields {
            named.extend(fields.iter().map(|name| (name.as_str(), "issues.fields")));
        }
        named
    }
}

/// The name among `available` closest to `unknown`, if close enough to be a slip (case and
/// separators ignored first: `Issue Key` for `issue_key`).
pub(crate) fn closest<'a>(unknown: &str, available: &[&'a str]) -> Option<&'a str> {
    let folded = |name: &str| -> String {
        name.chars()
            .filter(|character| character.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let unknown_folded = folded(unknown);
    if let Some(same) = available
        .iter()
        .find(|candidate| folded(candidate) == unknown_folded)
    {
        return Some(same);
    }
    available
        .iter()
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(&unknown_folded, &folded(candidate)),
                *candidate,
            )
        })
        .filter(|(distance, candidate)| {
            *distance <= (candidate.len().max(unknown.len()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_mapping() {
        let mapping = IssueMapping {
            id: IdSource::Field("Issue key".to_owned()),
            expected: vec!["Priority".to_owned()],
            fields: Some(vec!["Summary".to_owned()]),
        };
        assert_eq!(mapping.role_of("Issue key"), Role::Id);
        assert_eq!(
            mapping.role_of("Priority"),
            Role::Expected("Priority".to_owned())
        );
        assert_eq!(
            mapping.role_of("Summary"),
            Role::Field("Summary".to_owned())
        );
        assert_eq!(mapping.role_of("Status"), Role::Dropped);
        assert_eq!(mapping.role_of("id"), Role::Dropped);
        assert_eq!(
            mapping.role_of("provenance"),
            Role::Field("provenance".to_owned())
        );
        assert_eq!(
            IssueMapping::default().role_of("Status"),
            Role::Field("Status".to_owned())
        );
    }

    #[test]
    fn closest_names_ignore_case_and_separators_then_allow_typos() {
        let available = ["Issue key", "Summary", "Priority"];
        assert_eq!(closest("issue_key", &available), Some("Issue key"));
        assert_eq!(closest("Priorty", &available), Some("Priority"));
        assert_eq!(closest("assignee", &available), None);
    }
}
