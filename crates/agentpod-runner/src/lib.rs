//! Runner: orchestrates a run over N pods and emits events.
