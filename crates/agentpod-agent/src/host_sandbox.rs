//! The host sandbox: a host-command agent runs under bubblewrap (`bwrap`), in PID, IPC and UTS
//! namespaces of its own, with a file view that holds the system directories, its program and
//! what the spec lists as `agent.read_only` (all read-only), its issue file (read-only) and its
//! issue's working and output directories (the only writable places besides a private, sized
//! `/tmp`). agentpod's own files — the spec, the issues source, the run store, other issues'
//! directories — are masked even where they sit inside a directory the agent may read, and
//! agentpod's processes are not in the agent's `/proc`.
//!
//! Why bubblewrap: it is the small, widely packaged sandbox behind Flatpak and the shells of
//! coding agents on Linux; one exec gives a mount, PID and IPC namespace, and its PID 1 takes
//! every process of the namespace down with the agent, so nothing the agent starts (a `setsid`
//! daemon included) outlives its issue. Landlock alone would leave `/proc` and signals open;
//! seccomp alone gives no file view.
//!
//! Users: when agentpod runs as root, bubblewrap does its mounts as root and then hands over to
//! `setpriv`, which becomes a fresh unprivileged user id of the issue's own with no
//! capabilities, an empty bounding set and `no_new_privs` before it executes the agent. The
//! mount namespace belongs to root's user namespace, so the agent cannot unmount a mask (the
//! kernel locks mounts seen from a less privileged namespace). When agentpod is not root,
//! bubblewrap makes an unprivileged user namespace instead and the agent keeps agentpod's user
//! id, but sees none of its files or processes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rand::RngExt;

/// Where fresh agent user ids start: far above any account a system hands out, below the
/// 32-bit limit, with room for 2^24 ids.
const AGENT_USER_ID_BASE: u32 = 0x7000_0000;

/// The system directories a program needs to run: read-only, or as the symbolic links they
/// are on merged-`/usr` systems.
const SYSTEM_DIRECTORIES: &[&str] = &[
    "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// How a host agent is confined; built per issue by the runner.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostSandbox {
    /// Readable besides the system directories: the agent's program directory and the spec's
    /// `agent.read_only` paths. Any of them inside a `hidden` path is left out.
    pub read_only: Vec<PathBuf>,
    /// Never visible, even inside a readable directory: the spec, the issues source, the run
    /// store, the run's work directory (other issues).
    pub hidden: Vec<PathBuf>,
    /// The issue's own writable directories on the host (its output directory).
    pub writable: Vec<PathBuf>,
    /// Writable directories that exist only inside the sandbox, as a tmpfs of `scratch_bytes`
    /// each (the working directory, which is also HOME): bounded, and gone with the issue.
    pub scratch: Vec<PathBuf>,
    /// Size of each `scratch` directory, in bytes.
    pub scratch_bytes: u64,
    /// The issue's JSON file, shown read-only.
    pub issue_file: PathBuf,
    /// The user the agent becomes; `None` when agentpod is not root (the agent then keeps
    /// agentpod's user id inside an unprivileged user namespace).
    pub user: Option<SandboxUser>,
    /// Size of the private `/tmp`, in bytes.
    pub tmp_bytes: u64,
    /// Processes and threads the agent's user may have at once (with `user` only: the limit
    /// counts per user id).
    pub max_processes: u64,
    /// Memory for everything the agent runs, its tmpfs pages included (a control group, where
    /// agentpod can make one).
    pub memory_bytes: u64,
    /// CPUs' worth of time, e.g. `0.5` (the same control group).
    pub cpus: f64,
}

/// An unprivileged user id (and group id) of one issue's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SandboxUser {
    pub uid: u32,
    pub gid: u32,
}

impl SandboxUser {
    /// A fresh user for one issue when agentpod runs as root, `None` otherwise. Random within
    /// a range no account uses, so two issues (or two runs) never share one.
    #[must_use]
    pub fn for_issue() -> Option<SandboxUser> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let id = AGENT_USER_ID_BASE + rand::rng().random_range(1..(1 << 24));
        Some(SandboxUser { uid: id, gid: id })
    }
}

/// Why host agents cannot be sandboxed here.
#[derive(Debug, Clone, thiserror::Error)]
#[error("this host cannot sandbox a host agent: {reason}")]
pub struct SandboxUnavailable {
    pub reason: String,
}

/// Checks once per process that bubblewrap is installed and works here (as it will be used:
/// as root with `setpriv`, or unprivileged with a user namespace).
pub fn sandbox_support() -> Result<(), SandboxUnavailable> {
    static SUPPORT: OnceLock<Result<(), SandboxUnavailable>> = OnceLock::new();
    SUPPORT.get_or_init(probe).clone()
}

fn probe() -> Result<(), SandboxUnavailable> {
    let unavailable = |reason: String| SandboxUnavailable { reason };
    let bwrap = bwrap_program().ok_or_else(|| {
        unavailable(
            "`bwrap` (bubblewrap) is not installed; install the `bubblewrap` package".into(),
        )
    })?;
    let sandbox = HostSandbox {
        read_only: Vec::new(),
        hidden: Vec::new(),
        writable: Vec::new(),
        issue_file: PathBuf::from("/dev/null"),
        scratch: Vec::new(),
        scratch_bytes: 0,
        user: SandboxUser::for_issue(),
        tmp_bytes: 1 << 20,
        max_processes: 64,
        memory_bytes: 64 << 20,
        cpus: 1.0,
    };
    let mut command = std::process::Command::new(bwrap);
    command
        .args(sandbox.arguments(&["true".to_string()], Path::new("/")))
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let output = command
        .output()
        .map_err(|error| unavailable(format!("cannot start `bwrap`: {error}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(unavailable(format!(
        "`bwrap` failed ({}): {}",
        output.status,
        stderr.trim()
    )))
}

/// The bubblewrap executable, found once.
pub(crate) fn bwrap_program() -> Option<&'static Path> {
    static PROGRAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/bin")])
                .map(|directory| directory.join("bwrap"))
                .find(|candidate| candidate.is_file())
        })
        .as_deref()
}

impl HostSandbox {
    /// bubblewrap's arguments for running `command` (already resolved) in `working_dir`.
    pub(crate) fn arguments(&self, command: &[String], working_dir: &Path) -> Vec<OsString> {
        let mut arguments = Arguments::default();
        arguments.flag("--die-with-parent");
        arguments.flag("--new-session");
        arguments.flag("--unshare-pid");
        arguments.flag("--unshare-ipc");
        arguments.flag("--unshare-uts");
        arguments.flag("--unshare-cgroup-try");
        if self.user.is_none() {
            arguments.flag("--unshare-user");
        }
        arguments.pair("--hostname", "agentpod-sandbox");

        // `visible`: what the agent can see (host binds and the sandbox's own tmpfs mounts);
        // `bound`: the host binds alone, whose parents the sandbox has to create.
        let mut visible: Vec<PathBuf> = Vec::new();
        let mut bound: Vec<PathBuf> = Vec::new();
        for directory in SYSTEM_DIRECTORIES {
            let path = Path::new(directory);
            match std::fs::symlink_metadata(path) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(path) {
                        arguments.triple("--symlink", target, path);
                    }
                }
                Ok(metadata) if metadata.is_dir() => {
                    arguments.triple("--ro-bind", path, path);
                    visible.push(path.to_path_buf());
                    bound.push(path.to_path_buf());
                }
                _ => {}
            }
        }
        arguments.pair("--proc", "/proc");
        arguments.pair("--dev", "/dev");
        arguments.pair("--perms", "1777");
        arguments.pair("--size", self.tmp_bytes.to_string());
        arguments.pair("--tmpfs", "/tmp");
        visible.push(PathBuf::from("/tmp"));

        let hidden: Vec<PathBuf> = self.hidden.iter().map(|path| absolute(path)).collect();
        let is_hidden = |path: &Path| hidden.iter().any(|hidden| path.starts_with(hidden));
        for path in &self.read_only {
            let path = absolute(path);
            // Already on view from the host (a system directory), masked, or gone: nothing to
            // mount. (A path under /tmp is mounted over the sandbox's private /tmp.)
            if bound.iter().any(|mounted| path.starts_with(mounted))
                || is_hidden(&path)
                || !path.exists()
            {
                continue;
            }
            arguments.triple("--ro-bind", &path, &path);
            visible.push(path.clone());
            bound.push(path);
        }
        // A masked directory is an empty tmpfs, made read-only once the issue's own
        // directories (which may lie inside it) are mounted; a masked file is /dev/null.
        let mut masked_directories = Vec::new();
        for path in &hidden {
            if !visible.iter().any(|mounted| path.starts_with(mounted)) {
                continue;
            }
            match std::fs::metadata(path) {
                Ok(metadata) if metadata.is_dir() => {
                    arguments.pair("--size", "65536");
                    arguments.pair("--tmpfs", path);
                    masked_directories.push(path.clone());
                }
                Ok(_) => arguments.triple("--ro-bind", "/dev/null", path),
                Err(_) => {}
            }
        }
        for path in &self.writable {
            let path = absolute(path);
            arguments.triple("--bind", &path, &path);
            bound.push(path);
        }
        for path in &self.scratch {
            let path = absolute(path);
            // World-writable like /tmp: the agent's user is not known to the mount.
            arguments.pair("--perms", "1777");
            arguments.pair("--size", self.scratch_bytes.to_string());
            arguments.pair("--tmpfs", &path);
            bound.push(path);
        }
        let issue_file = absolute(&self.issue_file);
        arguments.triple("--ro-bind", &issue_file, &issue_file);
        bound.push(issue_file);
        // bubblewrap makes the parents of a mount point private (0700, root's): the agent's
        // user could not reach what is mounted below them. Those it made live in the sandbox's
        // own root or tmpfs mounts (a mask, /tmp), never on the host.
        let mut sandbox_mounts = vec![PathBuf::from("/tmp")];
        sandbox_mounts.extend(masked_directories.iter().cloned());
        sandbox_mounts.extend(self.scratch.iter().map(|path| absolute(path)));
        for parent in parents_to_open(&bound, &sandbox_mounts) {
            if parent != Path::new("/tmp") {
                arguments.triple("--chmod", "0755", &parent);
            }
        }
        for path in &masked_directories {
            arguments.pair("--remount-ro", path);
        }
        arguments.pair("--chdir", working_dir);
        arguments.flag("--");
        if let Some(user) = self.user {
            arguments.flag("setpriv");
            arguments.flag(format!("--reuid={}", user.uid));
            arguments.flag(format!("--regid={}", user.gid));
            arguments.flag("--clear-groups");
            arguments.flag("--inh-caps=-all");
            arguments.flag("--bounding-set=-all");
            arguments.flag("--no-new-privs");
            arguments.flag("--");
        }
        for argument in command {
            arguments.flag(argument);
        }
        arguments.into_inner()
    }
}

/// The ancestors of the host mounts (`bound`) that bubblewrap creates itself: those whose
/// nearest enclosing mount is the sandbox's root or one of its own tmpfs mounts
/// (`sandbox_mounts`), not a host directory. Outermost first, without duplicates.
fn parents_to_open(bound: &[PathBuf], sandbox_mounts: &[PathBuf]) -> Vec<PathBuf> {
    let mut parents: Vec<PathBuf> = Vec::new();
    for path in bound {
        let mut ancestors: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .filter(|ancestor| *ancestor != Path::new("/"))
            .collect();
        ancestors.reverse();
        for ancestor in ancestors {
            let nearest = bound
                .iter()
                .chain(sandbox_mounts)
                .filter(|mount| ancestor.starts_with(mount))
                .max_by_key(|mount| mount.components().count());
            let on_the_host = nearest.is_some_and(|mount| bound.contains(mount));
            if !on_the_host && !parents.iter().any(|known| known == ancestor) {
                parents.push(ancestor.to_path_buf());
            }
        }
    }
    parents
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[derive(Default)]
struct Arguments(Vec<OsString>);

impl Arguments {
    fn flag(&mut self, flag: impl Into<OsString>) {
        self.0.push(flag.into());
    }

    fn pair(&mut self, flag: &str, value: impl Into<OsString>) {
        self.0.push(flag.into());
        self.0.push(value.into());
    }

    fn triple(&mut self, flag: &str, first: impl Into<OsString>, second: impl Into<OsString>) {
        self.0.push(flag.into());
        self.0.push(first.into());
        self.0.push(second.into());
    }

    fn into_inner(self) -> Vec<OsString> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sandbox over real directories (`read_only` paths that do not exist are skipped):
    /// `<root>/agent` holds the program and the spec, `<root>/run` is the work root.
    fn sandbox(root: &Path) -> HostSandbox {
        for directory in ["agent", "run/store", "run/issues/T-1/work"] {
            std::fs::create_dir_all(root.join(directory)).unwrap();
        }
        std::fs::write(root.join("agent/spec.yaml"), "name: x").unwrap();
        std::fs::write(root.join("run/issues/T-1/issue.json"), "{}").unwrap();
        HostSandbox {
            read_only: vec![root.join("agent"), root.join("run/store")],
            hidden: vec![root.join("agent/spec.yaml"), root.join("run")],
            writable: vec![root.join("run/issues/T-1/work")],
            scratch: vec![root.join("run/issues/T-1/home")],
            scratch_bytes: 4096,
            issue_file: root.join("run/issues/T-1/issue.json"),
            user: Some(SandboxUser { uid: 7, gid: 7 }),
            tmp_bytes: 1024,
            max_processes: 8,
            memory_bytes: 64 << 20,
            cpus: 1.0,
        }
    }

    fn text(arguments: &[OsString]) -> String {
        arguments
            .iter()
            .map(|argument| argument.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn readable_paths_are_mounted_hidden_ones_masked() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let arguments = text(&sandbox(root).arguments(&["agent".into()], Path::new("/w")));
        let agent = root.join("agent").display().to_string();
        assert!(
            arguments.contains(&format!("--ro-bind {agent} {agent}")),
            "{arguments}"
        );
        assert!(
            arguments.contains(&format!("--ro-bind /dev/null {agent}/spec.yaml")),
            "the spec inside the agent's directory is masked: {arguments}"
        );
        assert!(
            !arguments.contains("run/store"),
            "the store lies inside the hidden work root: {arguments}"
        );
    }

    #[test]
    fn the_issue_directories_are_mounted_and_the_agent_drops_to_its_user() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let arguments =
            text(&sandbox(root).arguments(&["agent".into(), "-v".into()], Path::new("/w")));
        let work = root.join("run/issues/T-1/work").display().to_string();
        let issue = root.join("run/issues/T-1/issue.json").display().to_string();
        assert!(
            arguments.contains(&format!("--bind {work} {work}")),
            "{arguments}"
        );
        assert!(
            arguments.contains(&format!("--ro-bind {issue} {issue}")),
            "{arguments}"
        );
        assert!(
            arguments.ends_with(
                "-- setpriv --reuid=7 --regid=7 --clear-groups --inh-caps=-all \
                 --bounding-set=-all --no-new-privs -- agent -v"
            ),
            "{arguments}"
        );
        assert!(!arguments.contains("--unshare-user"), "{arguments}");
    }

    #[test]
    fn parents_made_by_the_sandbox_are_opened_for_the_agent() {
        let parents = parents_to_open(
            &[
                PathBuf::from("/usr"),
                PathBuf::from("/root/project/bin"),
                PathBuf::from("/usr/local/x"),
            ],
            &[],
        );
        assert_eq!(
            parents,
            [PathBuf::from("/root"), PathBuf::from("/root/project")]
        );
    }

    /// The agent's program directory holds the work root, which is masked: the issue's own
    /// directories lie inside the mask, and the parents bubblewrap makes there must be opened;
    /// the program directory's own subdirectories (the host's) must not be touched.
    #[test]
    fn parents_inside_a_mask_are_opened_and_host_ones_are_not() {
        let parents = parents_to_open(
            &[
                PathBuf::from("/srv/agent"),
                PathBuf::from("/srv/agent/bin/tool"),
                PathBuf::from("/srv/agent/work/run/issues/T-1/output"),
            ],
            &[PathBuf::from("/tmp"), PathBuf::from("/srv/agent/work")],
        );
        assert_eq!(
            parents,
            [
                PathBuf::from("/srv"),
                PathBuf::from("/srv/agent/work"),
                PathBuf::from("/srv/agent/work/run"),
                PathBuf::from("/srv/agent/work/run/issues"),
                PathBuf::from("/srv/agent/work/run/issues/T-1"),
            ]
        );
    }

    #[test]
    fn fresh_users_differ() {
        if let (Some(first), Some(second)) = (SandboxUser::for_issue(), SandboxUser::for_issue()) {
            assert_ne!(first, second);
            assert!(first.uid >= AGENT_USER_ID_BASE);
        }
    }
}
