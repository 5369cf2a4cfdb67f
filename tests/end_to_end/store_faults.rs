//! The run store's disk fills up in the middle of a run: the run stops cleanly with a clear
//! error, removes its pods, and what was stored stays readable (and resumable). Uses a real
//! small tmpfs mounted for the test (this needs root, which CI here has).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use agentpod_end_to_end::{RunningAgentpod, Scratch, local_pod_directories};

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
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
fn a_full_store_disk_stops_the_run_cleanly_and_keeps_what_was_stored() {
    let scratch = Scratch::new();
    let disk = SmallDisk::mount(&scratch.path().join("small-disk"), "2m");
    let store = disk.path.join("runs.db");
    let mut command = Command::new(agentpod_end_to_end::binary("agentpod"));
    command
        .current_dir(agentpod_end_to_end::repo_root())
        .arg("--store")
        .arg(&store)
        .args([
            "run",
            "tests/pods/slow.yaml",
            "--runtime",
            "local",
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
    let run_id = running.run_id.clone();
    disk.fill();

    let rest: Vec<String> = running.lines.by_ref().collect();
    let status = running.child.wait().unwrap();
    let text = rest.join("\n");
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
    let shown = Command::new(agentpod_end_to_end::binary("agentpod"))
        .arg("--store")
        .arg(&store)
        .args(["show", &run_id, "--json"])
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let stored = shown["outcomes"].as_array().unwrap().len();
    assert!(
        (2..20).contains(&stored),
        "the outcomes stored before the disk filled: {stored}"
    );
}
