//! Trace intake and export.
