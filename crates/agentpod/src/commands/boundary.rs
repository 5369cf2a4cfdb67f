//! `agentpod boundary SPEC`: the effective AI-writable boundary, resolved against the database the
//! fixtures really create, as a table a reviewer can read and approve. Starts one pod, seeds it,
//! resolves the boundary, removes the pod.

use agentpod_db::{EffectiveBoundary, PodDatabase};
use agentpod_runtime::{PodRequest, RuntimeKind, detect_runtime};
use agentpod_spec::{PodSpec, ProposalResponse};

use crate::cli::{BoundaryArgs, RuntimeChoice};
use crate::exit_code::Exit;
use crate::failure::{Failure, boundary_failure, fixture_failure};

pub(crate) async fn boundary(args: BoundaryArgs) -> Result<Exit, Failure> {
    let spec = agentpod_spec::load(&args.spec)
        .map_err(|error| Failure::new(Exit::InvalidInput, error.to_string()))?;
    let preference = args.runtime.map(|choice| match choice {
        RuntimeChoice::Docker => RuntimeKind::Docker,
        RuntimeChoice::Local => RuntimeKind::Local,
    });
    let runtime = detect_runtime(preference)
        .await
        .map_err(|error| Failure::from_error(Exit::Setup, "no runtime for pods", &error))?;
    let work = async {
        let request = PodRequest {
            run_id: format!("boundary-{}", agentpod_runner::new_run_id()),
            pod_index: 1,
            image: spec.database.image.clone(),
        };
        let pod = runtime
            .start_pod(&request)
            .await
            .map_err(|error| Failure::from_error(Exit::Setup, "cannot start a pod", &error))?;
        // Resolve inside a block so the pod is shut down on every path out of it.
        let resolved = async {
            let mut database = PodDatabase::seed(pod.postgres(), &spec.database.fixtures)
                .await
                .map_err(|error| fixture_failure(&error))?;
            let resolved = database
                .apply_boundary(spec.boundary.as_ref())
                .await
                .map_err(|error| boundary_failure(&args.spec, &error));
            database.close().await;
            resolved
        }
        .await;
        if let Err(error) = pod.shutdown().await {
            tracing::warn!(%error, "pod shutdown failed; `agentpod gc` will remove what is left");
        }
        resolved
    };
    // Ctrl-C drops `work`, and with it the pod, whose guard removes it.
    let resolved = tokio::select! {
        resolved = work => resolved,
        _ = tokio::signal::ctrl_c() => Err(Failure::new(Exit::Interrupted, "interrupted; the pod was removed")),
    };
    let effective = resolved?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&effective).unwrap_or_default()
        );
    } else {
        print!("{}", render(&spec, &effective));
    }
    Ok(Exit::Success)
}

fn render(spec: &PodSpec, effective: &EffectiveBoundary) -> String {
    let mut out = format!(
        "AI-writable boundary of `{}` ({})\n",
        spec.name,
        spec.path.display()
    );
    if spec.boundary.is_none() {
        out.push_str("no `boundary` declared: every table is writable by the agent\n");
    }
    let rows: Vec<[String; 4]> = effective
        .tables
        .iter()
        .map(|table| {
            let columns: Vec<String> = table
                .columns
                .iter()
                .map(|(column, access)| format!("{column}: {access}"))
                .collect();
            [
                format!("{}.{}", table.schema, table.name),
                table.access.to_string(),
                if table.declared {
                    "declared".to_string()
                } else {
                    "default".to_string()
                },
                columns.join(", "),
            ]
        })
        .collect();
    let header = ["TABLE", "ACCESS", "FROM", "COLUMNS"].map(String::from);
    let mut widths = header.clone().map(|cell| cell.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let on_proposal = spec.boundary.as_ref().map(|boundary| boundary.on_proposal);
    out.push_str(match on_proposal {
        Some(ProposalResponse::Approve) => {
            "approval tables: the agent's writes are recorded as proposals and applied as if a human approved\n"
        }
        _ => "approval tables: the agent's writes are recorded as proposals for a human, not applied\n",
    });
    out.push_str(
        "writable: read and write (every change captured) · approval: read; writes become proposals · \
         read_only: read · hidden: no access\n",
    );
    out
}
