//! Graders: decide per issue whether the agent passed, and why.
