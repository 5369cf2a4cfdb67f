//! Run ids: sortable by time, unique enough not to collide in a team's shared store (many shards
//! started in the same second on many machines), short to type.

use std::hash::{BuildHasher, RandomState};

/// `20261125-143700-3fa9c04e`: UTC start time plus 32 random bits (100 shards started in one
/// second collide once in about a million such starts).
pub fn new_run_id() -> String {
    // RandomState is seeded from the OS per process and per instance: enough entropy for a suffix.
    let random = RandomState::new().hash_one(std::time::SystemTime::now()) as u32;
    format!(
        "{}-{random:08x}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_are_time_prefixed_and_differ() {
        let first = super::new_run_id();
        let ids: std::collections::HashSet<_> = (0..50).map(|_| super::new_run_id()).collect();
        assert_eq!(first.len(), "20261125-143700-3fa9c04e".len());
        assert!(first.starts_with("20"), "{first}");
        assert!(
            ids.len() > 40,
            "ids should almost never repeat: {}",
            ids.len()
        );
    }
}
