//! Finding the host's Postgres server binaries.

use std::path::{Path, PathBuf};

use crate::error::RuntimeError;

/// The directory holding `initdb` and `postgres` of one installation. Both must come from the
/// same installation: a cluster made by one major version does not start on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PostgresBinaries {
    pub(crate) initdb: PathBuf,
    pub(crate) postgres: PathBuf,
}

impl PostgresBinaries {
    /// Looks on PATH first, then in Debian's versioned directories, newest version first.
    pub(crate) fn find() -> Option<Self> {
        let path_directories = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default();
        path_directories
            .into_iter()
            .chain(debian_directories(Path::new("/usr/lib/postgresql")))
            .find_map(|directory| Self::in_directory(&directory))
    }

    /// Hex SHA-256 of both binaries' content: what a cluster made and served by them depends on
    /// (their version, their build), whatever directory they sit in.
    pub(crate) fn identity(&self) -> Result<String, RuntimeError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for binary in [&self.initdb, &self.postgres] {
            let mut file = std::fs::File::open(binary)
                .map_err(|source| RuntimeError::io("read postgres binary", binary, source))?;
            let length = std::io::copy(&mut file, &mut hasher)
                .map_err(|source| RuntimeError::io("read postgres binary", binary, source))?;
            hasher.update(length.to_le_bytes());
        }
        Ok(hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect())
    }

    pub(crate) fn in_directory(directory: &Path) -> Option<Self> {
        let initdb = directory.join("initdb");
        let postgres = directory.join("postgres");
        (is_executable(&initdb) && is_executable(&postgres)).then_some(Self { initdb, postgres })
    }
}

/// `/usr/lib/postgresql/<major>/bin`, highest major first.
fn debian_directories(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    versions
        .into_iter()
        .map(|(_, directory)| directory)
        .collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn touch_executable(path: &Path) {
        std::fs::write(path, "#!/bin/sh\n").expect("write fake binary");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .expect("make fake binary executable");
    }

    #[test]
    fn debian_directories_come_newest_first() {
        let root = tempfile::tempdir().expect("temp dir");
        for major in ["9", "15", "13", "not-a-version"] {
            std::fs::create_dir_all(root.path().join(major).join("bin")).expect("create bin");
        }
        let found = debian_directories(root.path());
        assert_eq!(
            found,
            vec![
                root.path().join("15/bin"),
                root.path().join("13/bin"),
                root.path().join("9/bin")
            ]
        );
    }

    #[test]
    fn a_directory_needs_both_binaries_executable() {
        let directory = tempfile::tempdir().expect("temp dir");
        touch_executable(&directory.path().join("initdb"));
        assert_eq!(PostgresBinaries::in_directory(directory.path()), None);
        std::fs::write(directory.path().join("postgres"), "").expect("write postgres");
        assert_eq!(PostgresBinaries::in_directory(directory.path()), None);
        touch_executable(&directory.path().join("postgres"));
        assert!(PostgresBinaries::in_directory(directory.path()).is_some());
    }

    #[test]
    fn the_identity_follows_the_binaries_content() {
        let directory = tempfile::tempdir().expect("temp dir");
        touch_executable(&directory.path().join("initdb"));
        touch_executable(&directory.path().join("postgres"));
        let binaries = PostgresBinaries::in_directory(directory.path()).expect("binaries");
        let before = binaries.identity().expect("identity");
        assert_eq!(before, binaries.identity().expect("identity"));
        std::fs::write(directory.path().join("postgres"), "#!/bin/sh\n# 16\n").expect("write");
        assert_ne!(before, binaries.identity().expect("identity"));
    }
}
