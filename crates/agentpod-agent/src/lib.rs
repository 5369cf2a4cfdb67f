//! Agent processes: start the agent under test once per issue, with the agent contract's environment, a timeout and capped output.
