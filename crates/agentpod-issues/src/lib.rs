//! Issues: load an issues file (JSON lines or CSV) and draw a seeded, optionally stratified sample.
