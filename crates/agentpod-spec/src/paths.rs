//! Resolves paths written in a spec against the spec's directory, lexically, so a spec given as
//! `pods/x.yaml` that names `../fixtures/a.sql` yields `fixtures/a.sql`: messages and snapshots
//! show paths the way the user would type them, and never turn relative paths absolute.

use std::path::{Component, Path, PathBuf};

/// The directory paths in the spec are relative to; empty for a spec in the current directory.
pub(crate) fn spec_directory(spec_path: &Path) -> PathBuf {
    spec_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub(crate) fn resolve(spec_directory: &Path, written: &str) -> PathBuf {
    normalize(&spec_directory.join(written))
}

/// Like [`resolve`], but keeps the result runnable: a program path that loses its `/` (`./agent`
/// next to the spec becomes `agent`) would otherwise be looked up on `PATH`.
pub(crate) fn resolve_program(spec_directory: &Path, written: &str) -> PathBuf {
    let resolved = resolve(spec_directory, written);
    if resolved.is_relative() && resolved.components().count() == 1 {
        Path::new(".").join(resolved)
    } else {
        resolved
    }
}

/// Files an argument may name as a script for an interpreter (`python3 agent/triage.py`).
const SCRIPT_EXTENSIONS: &[&str] = &[
    "py", "js", "mjs", "cjs", "ts", "sh", "bash", "rb", "pl", "php", "jar", "lua",
];

/// The rule for a command's arguments (after the program): an argument is *path-like* when it is
/// relative, is not an option (`-…`) or a URL, and holds a `/` or ends in a script extension.
/// A path-like argument that names something next to the spec is resolved against the spec's
/// directory, as the program is; one that names a script found nowhere (neither next to the spec
/// nor from the current directory) is returned, for the decoder to report.
pub(crate) fn resolve_arguments(spec_directory: &Path, arguments: &mut [String]) -> Vec<String> {
    let mut missing = Vec::new();
    for argument in arguments {
        let path = Path::new(argument.as_str());
        let script = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| SCRIPT_EXTENSIONS.contains(&extension));
        let path_like = !argument.starts_with('-')
            && !argument.contains("://")
            && path.is_relative()
            && (argument.contains('/') || script);
        if !path_like {
            continue;
        }
        if spec_directory.join(path).exists() {
            *argument = resolve_program(spec_directory, argument)
                .to_string_lossy()
                .into_owned();
        } else if script && !path.exists() {
            missing.push(argument.clone());
        }
    }
    missing
}

/// Removes `.` and folds `name/..` without touching the file system, so symbolic links are not
/// followed and a missing file still gets a readable path.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut components: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match components.last() {
                Some(Component::Normal(_)) => {
                    components.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(Component::ParentDir | Component::CurDir) | None => {
                    components.push(component);
                }
            },
            other => components.push(other),
        }
    }
    if components.is_empty() {
        return PathBuf::from(".");
    }
    components.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_against_the_spec_directory() {
        let directory = spec_directory(Path::new("pods/x.yaml"));
        assert_eq!(
            resolve(&directory, "../fixtures/a.sql"),
            PathBuf::from("fixtures/a.sql")
        );
        assert_eq!(
            resolve(&directory, "./data/./a.csv"),
            PathBuf::from("pods/data/a.csv")
        );
    }

    #[test]
    fn keeps_leading_parent_directories() {
        let directory = spec_directory(Path::new("x.yaml"));
        assert_eq!(directory, PathBuf::new());
        assert_eq!(
            resolve(&directory, "../../a.sql"),
            PathBuf::from("../../a.sql")
        );
    }

    #[test]
    fn absolute_paths_stay_absolute() {
        let directory = spec_directory(Path::new("pods/x.yaml"));
        assert_eq!(
            resolve(&directory, "/srv/a.sql"),
            PathBuf::from("/srv/a.sql")
        );
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn empty_result_is_the_current_directory() {
        assert_eq!(normalize(Path::new("pods/..")), PathBuf::from("."));
    }

    #[test]
    fn path_like_arguments_resolve_like_the_program() {
        let root = tempfile::tempdir().unwrap();
        let pods = root.path().join("pods");
        std::fs::create_dir_all(pods.join("agent")).unwrap();
        std::fs::write(pods.join("agent/triage.py"), "").unwrap();
        std::fs::write(pods.join("tool.py"), "").unwrap();
        let mut arguments: Vec<String> = [
            "agent/triage.py",
            "tool.py",
            "--flag",
            "plain",
            "http://x/y",
            "gone/missing.py",
        ]
        .map(String::from)
        .to_vec();
        let missing = resolve_arguments(&pods, &mut arguments);
        assert_eq!(arguments[0], pods.join("agent/triage.py").to_string_lossy());
        assert_eq!(arguments[1], pods.join("tool.py").to_string_lossy());
        assert_eq!(&arguments[2..5], ["--flag", "plain", "http://x/y"]);
        assert_eq!(missing, ["gone/missing.py"]);
    }

    #[test]
    fn programs_keep_a_slash() {
        let directory = spec_directory(Path::new("pods/x.yaml"));
        assert_eq!(
            resolve_program(&directory, "../agent"),
            PathBuf::from("./agent")
        );
        assert_eq!(
            resolve_program(&directory, "../target/debug/agent"),
            PathBuf::from("target/debug/agent")
        );
    }
}
