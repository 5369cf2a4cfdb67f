//! Bad input, one file per case under tests/cases/invalid/: a typo in a key, a wrong type, a
//! missing fixture file, a bad SQL fixture, a bad CSV fixture, a malformed issues file. Each
//! must fail with exit code 2 and a message naming the file and line; the message is snapshotted.

use agentpod_end_to_end::{Scratch, repo_root};

#[test]
fn each_bad_input_names_its_file_and_line() {
    insta::glob!("../cases/invalid", "*.yaml", |path| {
        let relative = path
            .strip_prefix(repo_root())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let scratch = Scratch::new();
        let output = scratch.run(&["run", &relative, "--runtime", "local", "--no-progress"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{relative}: invalid input exits with 2\n{stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "nothing on stdout for a failed start: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(
            stderr.contains("tests/cases/invalid/"),
            "the message names the file: {stderr}"
        );
        insta::assert_snapshot!(stderr);
    });
}
