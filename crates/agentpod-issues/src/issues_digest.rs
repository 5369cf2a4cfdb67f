//! An evaluation set's identity: the SHA-256 of its issues file's bytes. Two runs with the same
//! digest drew from the same issues; any edit (an issue added, a label fixed) changes it.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of the file at `path`.
///
/// # Errors
///
/// The file cannot be read.
pub fn issues_digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_the_sha256_of_the_bytes() -> std::io::Result<()> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("issues.jsonl");
        std::fs::write(&path, "abc")?;
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            issues_digest(&path)?,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::write(&path, "abd")?;
        assert_ne!(
            issues_digest(&path)?,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        Ok(())
    }
}
