//! Pod databases: fixtures, the seeded template, per-issue clones, the agent role.
