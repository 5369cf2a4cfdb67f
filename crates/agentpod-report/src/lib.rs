//! Reports: statistics over a run's outcomes and the summary renderers (terminal, JSON).
