//! The commands, one file each under `commands/`; this file only dispatches.

mod boundary;
mod dataset;
mod deploy;
mod export;
mod gc;
mod import_issues;
pub(crate) mod merge;
mod promote;
mod promote_trace;
pub(crate) mod report;
mod run;
mod runs;
mod show;
mod trace;
mod validate;
mod view;

use crate::cli::{Cli, Command};
use crate::exit_code::Exit;

pub(crate) async fn dispatch(cli: Cli) -> Exit {
    let result = match cli.command {
        Command::Run(args) => run::run(&cli.global, args).await,
        Command::Validate(args) => validate::validate(args),
        Command::Runs(args) => runs::runs(&cli.global, args).await,
        Command::Show(args) => show::show(&cli.global, args).await,
        Command::View(args) => view::view(&cli.global, args).await,
        Command::Gc(args) => gc::gc(args).await,
        Command::Deploy(args) => deploy::deploy(&cli.global, args).await,
        Command::Dataset(args) => dataset::dataset(args),
        Command::Boundary(args) => boundary::boundary(args).await,
        Command::Trace(args) => trace::trace(&cli.global, args).await,
        Command::Export(args) => export::export(&cli.global, args).await,
        Command::Import(args) => export::import(&cli.global, args).await,
        Command::Merge(args) => merge::merge(&cli.global, args).await,
        Command::ImportIssues(args) => import_issues::import_issues(args),
        Command::Promote(args) => promote::promote(&cli.global, args).await,
        Command::Report(args) => report::report(&cli.global, args).await,
        Command::Compare(args) => report::compare(&cli.global, args).await,
        Command::Gate(args) => report::gate(&cli.global, args).await,
    };
    match result {
        Ok(exit) => exit,
        Err(failure) => {
            failure.print();
            failure.exit
        }
    }
}
