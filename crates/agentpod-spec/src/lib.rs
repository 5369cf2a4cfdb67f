//! Pod spec: load a YAML pod spec, validate it, and report every problem with file, line and column.
