//! The `agentpod` binary: a doorway to [`agentpod::run`], which tests call too.

fn main() -> std::process::ExitCode {
    agentpod::run(std::env::args_os())
}
