//! The issues a spec names, read through the spec's mapping (`issues.id`, `issues.expected`,
//! `issues.fields`); `run` and `validate` read them the same way.

use agentpod_issues::{IdSource, Issue, IssueMapping, IssuesError};
use agentpod_spec::{IssueIdSource, IssuesSpec};

/// Every issue of the spec's issues file, in file order.
pub fn load_issues(spec: &IssuesSpec) -> Result<Vec<Issue>, IssuesError> {
    agentpod_issues::load_mapped(&spec.source, &issue_mapping(spec))
}

/// The issues crate's mapping for the spec's `issues` section.
pub fn issue_mapping(spec: &IssuesSpec) -> IssueMapping {
    let defaults = IssueMapping::default();
    IssueMapping {
        id: match &spec.id {
            None => defaults.id,
            Some(IssueIdSource::Row) => IdSource::Row,
            Some(IssueIdSource::Field(name)) => IdSource::Field(name.clone()),
        },
        expected: spec.expected.clone(),
        fields: spec.fields.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_mapping_is_the_files_own_convention() {
        let spec = IssuesSpec {
            source: "issues.csv".into(),
            id: None,
            expected: Vec::new(),
            fields: None,
            sample: None,
            seed: 0,
            stratify_by: None,
            trials: 1,
        };
        assert_eq!(issue_mapping(&spec), IssueMapping::default());
        let spec = IssuesSpec {
            id: Some(IssueIdSource::Row),
            expected: vec!["label".to_owned()],
            fields: Some(vec!["title".to_owned()]),
            ..spec
        };
        assert_eq!(
            issue_mapping(&spec),
            IssueMapping {
                id: IdSource::Row,
                expected: vec!["label".to_owned()],
                fields: Some(vec!["title".to_owned()]),
            }
        );
    }
}
