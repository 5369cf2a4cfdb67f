//! The run store's disk fills up, or turns read-only, in the middle of a run: the run stops
//! cleanly with a clear error, removes its pods, and what was stored stays readable (and
//! resumable). A store that is read-only from the start is refused before any pod starts. Uses
//! real small file systems mounted for the test (a tmpfs; ext4 on a loop device), which needs
//! root, which CI here has.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agentpod_end_to_end::{
    RunningAgentpod, Scratch, docker_resources, local_pod_directories, run_id_from_stderr,
};

/// A tmpfs of `size` mounted at `path` for the test's lifetime; unmounted on drop, also on failure.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("mount runs");
        assert!(
            mounted.success(),
            "mounting a tmpfs needs root; CI runs as root"
        );
        SmallDisk {
            path: path.to_path_buf(),
        }
    }

    fn fill(&self) {
        // dd stops with "No space left on device": that is the point.
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", self.path.join("filler").display()))
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // A plain unmount also frees a loop device; lazy only when something still holds it.
        let unmounted = Command::new("umount").arg(&self.path).status();
        if !unmounted.is_ok_and(|status| status.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// `agentpod run` of the slow pod (2 pods, 20 issues) on `runtime` with its store at `store`,
/// returned once two issues are stored.
fn run_until_two_are_stored(scratch: &Scratch, store: &Path, runtime: &str) -> RunningAgentpod {
    let mut command = Command::new(agentpod_end_to_end::binary("agentpod"));
    command
        .current_dir(agentpod_end_to_end::repo_root())
        .env("NO_COLOR", "1")
        .arg("--store")
        .arg(store)
        .args([
            "run",
            "tests/pods/slow.yaml",
            "--runtime",
            runtime,
            "--pods",
            "2",
            "--sample",
            "20",
        ])
        .arg("--work-dir")
        .arg(scratch.path().join("work"));
    let mut running = RunningAgentpod::start(command);
    running
        .wait_for_line("[ 2/")
        .expect("two issues are stored");
    running
}

/// How many outcomes `agentpod show` reads from the store at `store` for `run_id`.
fn stored_outcomes(store: &Path, run_id: &str) -> usize {
    let shown = Command::new(agentpod_end_to_end::binary("agentpod"))
        .arg("--store")
        .arg(store)
        .args(["show", run_id, "--json"])
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "show on the store {}: {}",
        store.display(),
        String::from_utf8_lossy(&shown.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    shown["outcomes"].as_array().unwrap().len()
}

/// The rest of the run's stderr, once it ended, and how it ended.
fn rest_of(running: &mut RunningAgentpod) -> (std::process::ExitStatus, String) {
    let rest: Vec<String> = running.lines.by_ref().collect();
    (running.child.wait().unwrap(), rest.join("\n"))
}

#[test]
fn a_full_store_disk_stops_the_run_cleanly_and_keeps_what_was_stored() {
    let scratch = Scratch::new();
    let disk = SmallDisk::mount(&scratch.path().join("small-disk"), "2m");
    let store = disk.path.join("runs.db");
    let mut running = run_until_two_are_stored(&scratch, &store, "local");
    let run_id = running.run_id.clone();
    disk.fill();
    let (status, text) = rest_of(&mut running);
    assert_eq!(
        status.code(),
        Some(3),
        "a store that cannot be written is a setup error: {text}"
    );
    assert!(text.contains("cannot be written"), "{text}");
    assert!(
        text.contains("--resume"),
        "the error says how to go on: {text}"
    );
    assert!(
        local_pod_directories(&run_id).is_empty(),
        "pods are removed after the stop"
    );

    // Make room: everything stored before the disk filled is readable, and the run resumable.
    std::fs::remove_file(disk.path.join("filler")).unwrap();
    let stored = stored_outcomes(&store, &run_id);
    assert!(
        (2..20).contains(&stored),
        "the outcomes stored before the disk filled: {stored}"
    );
}

/// A small ext4 file system on a loop device, mounted at `path` with `errors=remount-ro` as a
/// server's disks are, so that [`FailingDisk::fail`] turns it read-only under open files the way
/// the kernel does after a real I/O error. The simpler ways do not work for this: a tmpfs cannot
/// be remounted read-only while SQLite holds its files open for writing, and `chmod` does not stop
/// root. Unmounted on drop, also on failure; the loop device goes with the mount.
struct FailingDisk {
    path: PathBuf,
    device: String,
}

impl FailingDisk {
    fn mount(scratch: &Path) -> FailingDisk {
        let image = scratch.join("disk.img");
        let path = scratch.join("disk");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::File::create(&image)
            .and_then(|file| file.set_len(32 * 1024 * 1024))
            .unwrap();
        let made = Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(&image)
            .status()
            .expect("mkfs.ext4 runs");
        assert!(made.success(), "mkfs.ext4 failed");
        let mounted = Command::new("mount")
            .args(["-o", "loop,errors=remount-ro"])
            .arg(&image)
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(
            mounted.success(),
            "mounting a loop device needs root; CI runs as root"
        );
        let mut disk = FailingDisk {
            path,
            device: String::new(),
        };
        let source = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&disk.path)
            .output()
            .expect("findmnt runs");
        let source = String::from_utf8_lossy(&source.stdout).trim().to_owned();
        disk.device = source.rsplit('/').next().unwrap_or_default().to_owned();
        assert!(disk.device.starts_with("loop"), "mounted from {source:?}");
        disk
    }

    /// Raises an ext4 error; with `errors=remount-ro` the kernel makes the file system read-only.
    fn fail(&self) {
        std::fs::write(
            format!("/sys/fs/ext4/{}/trigger_fs_error", self.device),
            "agentpod end-to-end test",
        )
        .expect("ext4 takes a test error");
        let probe = std::fs::write(self.path.join("probe"), "x");
        assert_eq!(
            probe.map_err(|error| error.kind()),
            Err(std::io::ErrorKind::ReadOnlyFilesystem),
            "the disk is read-only now"
        );
    }
}

impl Drop for FailingDisk {
    fn drop(&mut self) {
        // A plain unmount also frees a loop device; lazy only when something still holds it.
        let unmounted = Command::new("umount").arg(&self.path).status();
        if !unmounted.is_ok_and(|status| status.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

#[test]
fn a_store_turned_read_only_stops_the_run_cleanly_and_stays_readable() {
    let scratch = Scratch::new();
    let disk = FailingDisk::mount(scratch.path());
    let store = disk.path.join("runs.db");
    let mut running = run_until_two_are_stored(&scratch, &store, "docker");
    let run_id = running.run_id.clone();
    disk.fail();
    let (status, text) = rest_of(&mut running);
    assert_eq!(
        status.code(),
        Some(3),
        "a store that cannot be written is a setup error: {text}"
    );
    assert!(
        text.contains(&format!(
            "the run store {} cannot be written",
            store.display()
        )),
        "the error names the store: {text}"
    );
    assert!(
        text.contains(&format!("agentpod run --resume {run_id}")),
        "the error says how to go on: {text}"
    );
    assert_eq!(
        docker_resources(&run_id),
        Vec::<String>::new(),
        "pods are removed after the stop"
    );

    // The disk stays read-only: what was stored before is readable from it as it is.
    let stored = stored_outcomes(&store, &run_id);
    assert!(
        (2..20).contains(&stored),
        "the outcomes stored before the disk turned read-only: {stored}"
    );
}

#[test]
fn a_read_only_store_is_refused_before_any_pod_starts() {
    let scratch = Scratch::new();
    let disk = FailingDisk::mount(scratch.path());
    disk.fail();
    let store = disk.path.join("runs.db");
    let output = Command::new(agentpod_end_to_end::binary("agentpod"))
        .current_dir(agentpod_end_to_end::repo_root())
        .env("NO_COLOR", "1")
        .arg("--store")
        .arg(&store)
        .args([
            "run",
            "tests/pods/slow.yaml",
            "--runtime",
            "docker",
            "--sample",
            "2",
        ])
        .arg("--work-dir")
        .arg(scratch.path().join("work"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "a setup error: {stderr}");
    assert!(
        stderr.contains(&format!(
            "the run store {} is on a read-only file system",
            store.display()
        )),
        "the error names the store and why: {stderr}"
    );
    assert_eq!(
        run_id_from_stderr(&stderr),
        None,
        "no run starts, so no pod does: {stderr}"
    );
}
