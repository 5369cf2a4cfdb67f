//! `agentpod validate`: load each spec and its issues file, run the checks `run` makes before it
//! starts (`agentpod_runner::preflight`), report every problem, start nothing.

use agentpod_report::inert_text::terminal_block;
use agentpod_spec::FixtureKind;

use crate::cli::ValidateArgs;
use crate::exit_code::Exit;
use crate::failure::{Failure, issues_failure};

pub(crate) fn validate(args: ValidateArgs) -> Result<Exit, Failure> {
    let mut exit = Exit::Success;
    for path in &args.specs {
        let spec = match agentpod_spec::load(path) {
            Ok(spec) => spec,
            Err(error) => {
                Failure::new(Exit::InvalidInput, error.to_string()).print();
                exit = Exit::InvalidInput;
                continue;
            }
        };
        let issues = match agentpod_runner::load_issues(&spec.issues) {
            Ok(issues) => issues,
            Err(error) => {
                issues_failure(&error).print();
                exit = Exit::InvalidInput;
                continue;
            }
        };
        let checks = agentpod_runner::preflight(&spec, &issues, None);
        for diagnostic in &checks.diagnostics {
            eprintln!("{}\n", terminal_block(&diagnostic.render()));
        }
        if checks.has_errors() {
            exit = Exit::InvalidInput;
            continue;
        }
        let warnings = checks.warnings().count();
        let data_files = spec
            .database
            .fixtures
            .iter()
            .filter(|fixture| fixture.kind != FixtureKind::Sql)
            .count();
        println!(
            "{}: ok{} — `{}`, {} fixture{} ({} SQL, {} data), {} issues, agent {} {}{}",
            path.display(),
            match warnings {
                0 => String::new(),
                1 => " (1 warning)".to_string(),
                many => format!(" ({many} warnings)"),
            },
            spec.name,
            spec.database.fixtures.len(),
            if spec.database.fixtures.len() == 1 {
                ""
            } else {
                "s"
            },
            spec.database.fixtures.len() - data_files,
            data_files,
            issues.len(),
            spec.agent.version,
            match &spec.agent.image {
                Some(image) => format!("image `{image}`"),
                None => format!("`{}`", spec.agent.command.join(" ")),
            },
            match &spec.boundary {
                Some(boundary) => format!(
                    ", boundary of {} table and {} column rules",
                    boundary.tables.len(),
                    boundary.columns.len()
                ),
                None => ", no boundary (every table writable)".to_string(),
            },
        );
    }
    Ok(exit)
}
