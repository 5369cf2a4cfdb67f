//! The local runtime's seed cache on disk: one directory per seed key, holding a seeded cluster
//! that was stopped cleanly (`data/`) and the manifest of its files (`agentpod-seed.json`).
//!
//! Where: `$XDG_CACHE_HOME/agentpod/seeds`, else `~/.cache/agentpod/seeds`; private to the user
//! (directories 0700, files 0600). An entry is built in a `.building-<pid>-<random>` directory
//! beside the others and renamed into place whole, so a reader finds a complete entry or none;
//! an entry whose files do not match its manifest (cut short, edited, a manifest missing) is
//! never used, and is moved aside and removed. Pods copy an entry into their own data directory,
//! by reflink where the file system can (btrfs, XFS), else byte by byte.
//!
//! A cached cluster holds no password: its superuser's is removed before the server stops, and
//! each pod restored from it sets its own before the server listens (see `LocalRuntime`).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::server_user::ServerUser;
use crate::error::RuntimeError;
use crate::owner::process_is_alive;

const MANIFEST_FILE: &str = "agentpod-seed.json";
const DATA_DIRECTORY: &str = "data";
const BUILDING_PREFIX: &str = ".building-";
const REMOVING_PREFIX: &str = ".removing-";
/// What a stopped cluster keeps that a new server must not inherit: the last server's lock file
/// and options, and its log (the logging collector makes a fresh `log/`). Top level only.
const LEFT_OUT: &[&str] = &["postmaster.pid", "postmaster.opts", "log"];

/// The seeds root: where entries live, one per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeedDirectory {
    root: PathBuf,
}

/// The files of an entry's cluster, written last: an entry is used only if it matches.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    key: String,
    /// Relative to the cluster, parents before children.
    entries: Vec<ManifestEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestEntry {
    path: String,
    /// A file's length; `None` for a directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

impl SeedDirectory {
    /// The user's seeds root (`$XDG_CACHE_HOME/agentpod/seeds`, else `~/.cache/agentpod/seeds`);
    /// `None` when neither variable names an absolute directory.
    pub(crate) fn for_user() -> Option<Self> {
        let absolute = |name: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let cache = absolute("XDG_CACHE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
        Some(Self::at(cache.join("agentpod").join("seeds")))
    }

    pub(crate) fn at(root: PathBuf) -> Self {
        Self { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the entry of `key` is, or would be.
    pub(crate) fn entry_path(&self, key: &str) -> Option<PathBuf> {
        is_key(key).then(|| self.root.join(key))
    }

    /// The entry `image` names, when it is the path of one in this directory (how a seed is
    /// passed to `start_pod`, see `SeedImage::id`).
    pub(crate) fn entry_of_image(&self, image: &str) -> Option<PathBuf> {
        let path = Path::new(image);
        let key = path.file_name()?.to_str()?;
        (path.parent() == Some(self.root.as_path()) && is_key(key)).then(|| path.to_path_buf())
    }

    /// The entry of `key` when it is complete and matches its manifest. One that does not is
    /// moved aside and removed, so the next seed of the key can take its place.
    pub(crate) fn find(&self, key: &str) -> Result<Option<PathBuf>, RuntimeError> {
        let Some(entry) = self.entry_path(key) else {
            return Ok(None);
        };
        if !entry.is_dir() {
            return Ok(None);
        }
        match check_entry(&entry, key) {
            Ok(_) => Ok(Some(entry)),
            Err(reason) => {
                tracing::warn!(entry = %entry.display(), %reason, "not using a broken seed cache entry; removing it");
                self.remove_aside(&entry);
                Ok(None)
            }
        }
    }

    /// Copies the stopped cluster in `data_dir` into the entry of `key`, through a temporary
    /// directory renamed into place. When another run published the key first, its entry is
    /// kept and this copy dropped. Returns the entry.
    pub(crate) fn publish(&self, key: &str, data_dir: &Path) -> Result<PathBuf, RuntimeError> {
        let entry = self
            .entry_path(key)
            .ok_or_else(|| not_kept(&self.root, format!("`{key}` is not a seed key")))?;
        create_private_directories(&self.root)?;
        let building = self.root.join(format!(
            "{BUILDING_PREFIX}{}-{}",
            std::process::id(),
            random_suffix()
        ));
        let built = build_entry(&building, key, data_dir);
        if let Err(error) = built {
            let _ = std::fs::remove_dir_all(&building);
            return Err(error);
        }
        match std::fs::rename(&building, &entry) {
            Ok(()) => {
                sync_directory(&self.root)?;
                Ok(entry)
            }
            // Published by another run meanwhile (a non-empty directory is not replaced).
            Err(error) if entry.is_dir() => {
                tracing::debug!(%error, entry = %entry.display(), "seed published by another run; keeping that one");
                let _ = std::fs::remove_dir_all(&building);
                Ok(entry)
            }
            Err(source) => {
                let _ = std::fs::remove_dir_all(&building);
                Err(RuntimeError::io("publish seed cache entry", &entry, source))
            }
        }
    }

    /// Makes `target` (which must not exist) a copy of the entry's cluster, owned by the server's
    /// user. Only the manifest's files are copied, each checked against its recorded length.
    pub(crate) fn restore(
        entry: &Path,
        target: &Path,
        server_user: Option<ServerUser>,
    ) -> Result<(), RuntimeError> {
        let key = entry
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let manifest = check_entry(entry, key).map_err(|reason| RuntimeError::SeedEntry {
            entry: entry.to_path_buf(),
            reason,
        })?;
        let source = entry.join(DATA_DIRECTORY);
        create_directory(target)?;
        let own = |path: &Path| match server_user {
            Some(user) => user.take_ownership(path),
            None => Ok(()),
        };
        own(target)?;
        for item in &manifest.entries {
            let from = source.join(&item.path);
            let to = target.join(&item.path);
            match item.size {
                None => create_directory(&to)?,
                Some(size) => {
                    copy_file(&from, &to)?;
                    let copied = std::fs::metadata(&to)
                        .map_err(|source| RuntimeError::io("read copied file", &to, source))?;
                    if copied.len() != size {
                        return Err(RuntimeError::SeedEntry {
                            entry: entry.to_path_buf(),
                            reason: format!(
                                "{} has {} bytes, the manifest says {size}",
                                item.path,
                                copied.len()
                            ),
                        });
                    }
                }
            }
            own(&to)?;
        }
        Ok(())
    }

    /// Removes what runs that died left half-built or half-removed, and with `entries` every
    /// entry too (`gc --seeds`). Returns what was removed, or would be with `dry_run`.
    pub(crate) fn collect(
        &self,
        entries: bool,
        dry_run: bool,
    ) -> Result<Vec<PathBuf>, RuntimeError> {
        let listing = match std::fs::read_dir(&self.root) {
            Ok(listing) => listing,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(RuntimeError::io("list seed cache", &self.root, source)),
        };
        let mut collected = Vec::new();
        for item in listing.filter_map(Result::ok) {
            let path = item.path();
            let name = item.file_name().to_string_lossy().to_string();
            let unfinished = [BUILDING_PREFIX, REMOVING_PREFIX]
                .iter()
                .find_map(|prefix| name.strip_prefix(prefix));
            let is_garbage = match unfinished {
                Some(rest) => {
                    let owner = rest
                        .split('-')
                        .next()
                        .and_then(|pid| pid.parse::<u32>().ok());
                    entries || !owner.is_some_and(process_is_alive)
                }
                None => entries && is_key(&name),
            };
            if !is_garbage {
                continue;
            }
            if !dry_run {
                match std::fs::remove_dir_all(&path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => {
                        return Err(RuntimeError::io("remove seed cache entry", &path, source));
                    }
                }
            }
            collected.push(path);
        }
        collected.sort();
        Ok(collected)
    }

    /// Renames a broken entry out of the way (one rename: no reader finds half of it), then
    /// removes it. Another run doing the same first is not an error.
    fn remove_aside(&self, entry: &Path) {
        let aside = self.root.join(format!(
            "{REMOVING_PREFIX}{}-{}",
            std::process::id(),
            random_suffix()
        ));
        if std::fs::rename(entry, &aside).is_ok()
            && let Err(error) = std::fs::remove_dir_all(&aside)
        {
            tracing::debug!(%error, path = %aside.display(), "cannot remove a broken seed; `agentpod gc` will");
        }
    }
}

/// A seed key: the hex SHA-256 `seed_key` makes. Nothing else names an entry (no path tricks).
fn is_key(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn random_suffix() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(12)
        .map(char::from)
        .collect()
}

fn not_kept(path: &Path, reason: String) -> RuntimeError {
    RuntimeError::SeedNotKept {
        server: path.display().to_string(),
        reason,
    }
}

/// The entry's manifest, when it names `key` and every file it lists is there with its length.
fn check_entry(entry: &Path, key: &str) -> Result<Manifest, String> {
    let manifest_path = entry.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|error| format!("cannot read its manifest: {error}"))?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|error| format!("its manifest is broken: {error}"))?;
    if manifest.key != key {
        return Err(format!("its manifest is of another key, {}", manifest.key));
    }
    let data = entry.join(DATA_DIRECTORY);
    for item in &manifest.entries {
        let relative = Path::new(&item.path);
        if relative.is_absolute()
            || relative
                .components()
                .any(|component| !matches!(component, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "its manifest names {} outside the cluster",
                item.path
            ));
        }
        let metadata = std::fs::symlink_metadata(data.join(relative))
            .map_err(|error| format!("{}: {error}", item.path))?;
        let matches = match item.size {
            None => metadata.is_dir(),
            Some(size) => metadata.is_file() && metadata.len() == size,
        };
        if !matches {
            return Err(format!("{} does not match its manifest", item.path));
        }
    }
    Ok(manifest)
}

/// Copies the cluster into `building/data`, writes the manifest, and syncs everything, so that
/// once renamed the entry is whole on disk too.
fn build_entry(building: &Path, key: &str, data_dir: &Path) -> Result<(), RuntimeError> {
    create_directory(building)?;
    let target = building.join(DATA_DIRECTORY);
    create_directory(&target)?;
    let mut entries = Vec::new();
    copy_tree(data_dir, &target, Path::new(""), &mut entries)?;
    sync_directory(&target)?;
    let manifest = Manifest {
        key: key.to_string(),
        entries,
    };
    let manifest_path = building.join(MANIFEST_FILE);
    let text = serde_json::to_vec(&manifest)
        .map_err(|error| not_kept(building, format!("cannot write its manifest: {error}")))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_private()
        .open(&manifest_path)
        .map_err(|source| RuntimeError::io("write seed manifest", &manifest_path, source))?;
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .map_err(|source| RuntimeError::io("write seed manifest", &manifest_path, source))?;
    sync_directory(building)
}

/// Copies the tree under `from` into `to` (made already), recording each item relative to the
/// cluster. Only directories and regular files: a cluster has nothing else.
fn copy_tree(
    from: &Path,
    to: &Path,
    relative: &Path,
    entries: &mut Vec<ManifestEntry>,
) -> Result<(), RuntimeError> {
    let mut listing: Vec<_> = std::fs::read_dir(from)
        .map_err(|source| RuntimeError::io("read seeded cluster", from, source))?
        .collect::<Result<_, _>>()
        .map_err(|source| RuntimeError::io("read seeded cluster", from, source))?;
    listing.sort_by_key(std::fs::DirEntry::file_name);
    for item in listing {
        let name = item.file_name();
        if relative.as_os_str().is_empty() && LEFT_OUT.iter().any(|left| name == *left) {
            continue;
        }
        let item_relative = relative.join(&name);
        let path_text = item_relative
            .to_str()
            .ok_or_else(|| not_kept(from, format!("{} is not UTF-8", item_relative.display())))?
            .to_string();
        let source = item.path();
        let target = to.join(&name);
        let file_type = item.file_type().map_err(|source_error| {
            RuntimeError::io("read seeded cluster", &source, source_error)
        })?;
        if file_type.is_dir() {
            create_directory(&target)?;
            entries.push(ManifestEntry {
                path: path_text,
                size: None,
            });
            copy_tree(&source, &target, &item_relative, entries)?;
            sync_directory(&target)?;
        } else if file_type.is_file() {
            copy_file(&source, &target)?;
            let file = File::open(&target)
                .map_err(|error| RuntimeError::io("sync seed file", &target, error))?;
            file.sync_all()
                .map_err(|error| RuntimeError::io("sync seed file", &target, error))?;
            let size = file
                .metadata()
                .map_err(|error| RuntimeError::io("read seed file", &target, error))?
                .len();
            entries.push(ManifestEntry {
                path: path_text,
                size: Some(size),
            });
        } else {
            return Err(not_kept(
                from,
                format!(
                    "{} is neither a file nor a directory",
                    item_relative.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A reflink where the file system shares blocks between files, else a plain copy; private.
fn copy_file(from: &Path, to: &Path) -> Result<(), RuntimeError> {
    reflink_copy::reflink_or_copy(from, to)
        .map_err(|source| RuntimeError::io("copy seed file to", to, source))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
        .map_err(|source| RuntimeError::io("protect seed file", to, source))
}

/// A private directory (0700 whatever the umask), as Postgres wants its data directory.
fn create_directory(path: &Path) -> Result<(), RuntimeError> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|source| RuntimeError::io("create directory", path, source))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|source| RuntimeError::io("set permissions of", path, source))
}

/// The seeds root and any parent it lacks, private to the user.
fn create_private_directories(root: &Path) -> Result<(), RuntimeError> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(root)
        .map_err(|source| RuntimeError::io("create seed cache", root, source))?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
        .map_err(|source| RuntimeError::io("set permissions of", root, source))
}

fn sync_directory(path: &Path) -> Result<(), RuntimeError> {
    File::open(path)
        .and_then(|directory| directory.sync_all())
        .map_err(|source| RuntimeError::io("sync directory", path, source))
}

/// `OpenOptions` with mode 0600.
trait PrivateMode {
    fn mode_private(&mut self) -> &mut Self;
}

impl PrivateMode for std::fs::OpenOptions {
    fn mode_private(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A stand-in cluster: nested directories, files, and what is left out.
    fn cluster(root: &Path) -> PathBuf {
        let data = root.join("cluster");
        std::fs::create_dir_all(data.join("base/1")).expect("create");
        std::fs::create_dir_all(data.join("pg_notify")).expect("create");
        std::fs::create_dir_all(data.join("log")).expect("create");
        std::fs::write(data.join("PG_VERSION"), "15\n").expect("write");
        std::fs::write(data.join("base/1/1259"), vec![7u8; 8192]).expect("write");
        std::fs::write(data.join("postmaster.opts"), "postgres -D x").expect("write");
        std::fs::write(data.join("log/agentpod.json"), "{}").expect("write");
        data
    }

    fn modes_under(path: &Path) -> Vec<(PathBuf, u32)> {
        let mut modes = vec![(
            path.to_path_buf(),
            std::fs::metadata(path).expect("stat").permissions().mode() & 0o777,
        )];
        if path.is_dir() {
            for item in std::fs::read_dir(path).expect("list") {
                modes.extend(modes_under(&item.expect("item").path()));
            }
        }
        modes
    }

    #[test]
    fn a_published_entry_is_private_found_and_restored_without_what_was_left_out() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let data = cluster(scratch.path());
        let seeds = SeedDirectory::at(scratch.path().join("cache/agentpod/seeds"));
        assert_eq!(seeds.find(KEY).expect("find"), None);

        let entry = seeds.publish(KEY, &data).expect("publish");
        assert_eq!(seeds.find(KEY).expect("find"), Some(entry.clone()));
        assert_eq!(
            seeds.entry_of_image(&entry.to_string_lossy()),
            Some(entry.clone())
        );
        assert_eq!(seeds.entry_of_image("postgres:15"), None);
        for (path, mode) in modes_under(seeds.root()) {
            assert_eq!(
                mode & 0o077,
                0,
                "{} is open to others: {mode:o}",
                path.display()
            );
        }

        let restored = scratch.path().join("restored");
        SeedDirectory::restore(&entry, &restored, None).expect("restore");
        assert_eq!(
            std::fs::read(restored.join("base/1/1259")).expect("read"),
            vec![7u8; 8192]
        );
        assert!(restored.join("pg_notify").is_dir());
        assert!(!restored.join("postmaster.opts").exists());
        assert!(!restored.join("log").exists());
        assert!(
            std::fs::read_dir(seeds.root())
                .expect("list")
                .all(|item| !item
                    .expect("item")
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')),
            "nothing temporary left"
        );

        // A second publication of the key keeps the first entry.
        assert_eq!(seeds.publish(KEY, &data).expect("publish again"), entry);
    }

    #[test]
    fn broken_and_half_written_entries_are_never_used() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let data = cluster(scratch.path());
        let seeds = SeedDirectory::at(scratch.path().join("seeds"));

        // Cut short after publishing: found broken, and removed.
        let entry = seeds.publish(KEY, &data).expect("publish");
        std::fs::write(entry.join("data/base/1/1259"), b"short").expect("truncate");
        assert!(SeedDirectory::restore(&entry, &scratch.path().join("r1"), None).is_err());
        assert_eq!(seeds.find(KEY).expect("find"), None);
        assert!(!entry.exists());

        // A directory named by the key but without a manifest (a writer that did not rename).
        std::fs::create_dir_all(entry.join("data")).expect("create");
        std::fs::write(entry.join("data/PG_VERSION"), "15\n").expect("write");
        assert_eq!(seeds.find(KEY).expect("find"), None);

        // A manifest of another key.
        let other = seeds.publish(KEY, &data).expect("publish");
        let manifest = std::fs::read_to_string(other.join(MANIFEST_FILE)).expect("read");
        std::fs::write(
            other.join(MANIFEST_FILE),
            manifest.replace(KEY, &KEY.replace('0', "f")),
        )
        .expect("write");
        assert_eq!(seeds.find(KEY).expect("find"), None);
    }

    #[test]
    fn gc_removes_dead_builds_always_and_entries_only_when_asked() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let data = cluster(scratch.path());
        let seeds = SeedDirectory::at(scratch.path().join("seeds"));
        let entry = seeds.publish(KEY, &data).expect("publish");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let dead_build = seeds.root().join(format!("{BUILDING_PREFIX}{dead}-abc"));
        let live_build = seeds
            .root()
            .join(format!("{BUILDING_PREFIX}{}-abc", std::process::id()));
        std::fs::create_dir_all(&dead_build).expect("create");
        std::fs::create_dir_all(&live_build).expect("create");

        assert_eq!(
            seeds.collect(false, true).expect("dry run"),
            vec![dead_build.clone()]
        );
        assert!(dead_build.exists());
        assert_eq!(
            seeds.collect(false, false).expect("gc"),
            vec![dead_build.clone()]
        );
        assert!(!dead_build.exists() && entry.exists() && live_build.exists());
        let mut all = seeds.collect(true, false).expect("gc --seeds");
        all.sort();
        let mut expected = vec![live_build, entry.clone()];
        expected.sort();
        assert_eq!(all, expected);
        assert!(!entry.exists());
    }

    #[test]
    fn only_hex_keys_name_entries() {
        let seeds = SeedDirectory::at(PathBuf::from("/cache/seeds"));
        assert!(seeds.entry_path("../../etc").is_none());
        assert!(seeds.entry_of_image(&format!("/elsewhere/{KEY}")).is_none());
        assert_eq!(
            seeds.entry_of_image(&format!("/cache/seeds/{KEY}")),
            Some(PathBuf::from(format!("/cache/seeds/{KEY}")))
        );
    }
}
