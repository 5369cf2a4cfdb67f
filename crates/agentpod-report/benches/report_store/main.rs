//! `report` and `show --json` of 10,000 issues × 3 trials, from a real run store (see
//! `real_store`: a real run, scaled by copying its rows), each beside a baseline measured in the
//! same run:
//!
//! - the report as `agentpod report RUN` makes it from the run's stored report model (the model
//!   looked up by the run's revision, read back, rendered for the terminal), and as it computes
//!   it when the model is missing or stale (the run store read, the report built with 2,000
//!   bootstrap resamples and the projection by category, rendered), in this bench's profile,
//!   both against one `SELECT` of the run's outcome rows read as they are stored;
//! - `agentpod show RUN --json` (the debug binary: the dev profile) with its peak memory, against
//!   the size of the document it writes.
//!
//! Figures are printed, never asserted.

mod real_store;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use agentpod_report::{
    CategoryMix, CurrentHandling, DEFAULT_RESAMPLES, ProductionBudgets, ProductionProfile,
    REPORT_MODEL_VERSION, ReportContext, ReportFormat, RunInput, RunReport, render_report,
};
use agentpod_store::RunStore;
use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnection;

const LIMIT: Duration = Duration::from_millis(100);
const REPEATS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Err(error) = runtime.block_on(bench()) {
        eprintln!("report_store: {error}");
        std::process::exit(1);
    }
}

async fn bench() -> Result<(), String> {
    let store = real_store::bench_store().await?;
    let url = format!("sqlite://{}?mode=ro", store.path.display());
    let mut connection = SqliteConnection::connect(&url)
        .await
        .map_err(|error| error.to_string())?;
    let (outcomes, steps): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM outcomes WHERE run_id = ?1),
                (SELECT count(*) FROM steps WHERE run_id = ?1)",
    )
    .bind(&store.run_id)
    .fetch_one(&mut connection)
    .await
    .map_err(|error| error.to_string())?;
    println!(
        "{} issues × {} trials from a real run ({} outcomes, {} steps; a run of {} issues \
         scaled ×{})",
        real_store::REAL_ISSUES * real_store::COPIES,
        real_store::TRIALS,
        outcomes,
        steps,
        real_store::REAL_ISSUES,
        real_store::COPIES
    );

    let mut baseline = Vec::new();
    for _ in 0..REPEATS {
        let started = Instant::now();
        let rows = sqlx::query("SELECT * FROM outcomes WHERE run_id = ?")
            .bind(&store.run_id)
            .fetch_all(&mut connection)
            .await
            .map_err(|error| error.to_string())?;
        std::hint::black_box(rows);
        baseline.push(started.elapsed());
    }
    let baseline = median(baseline);

    let mut phases: Vec<[Duration; 3]> = Vec::new();
    let mut text_size = 0;
    let mut computed_text = String::new();
    for _ in 0..REPEATS {
        let started = Instant::now();
        let input = read_report_input(&store.path, &store.run_id).await?;
        let read = started.elapsed();
        let report = RunReport::build_in(&input, &context(), 7, DEFAULT_RESAMPLES);
        let built = started.elapsed();
        computed_text =
            render_report(&report, ReportFormat::Terminal).map_err(|e| e.to_string())?;
        text_size = computed_text.len();
        phases.push([read, built - read, started.elapsed() - built]);
        keep_model(&store.path, &report).await?;
    }
    let phase = |index: usize| median(phases.iter().map(|phases| phases[index]).collect());
    let computed = phase(0) + phase(1) + phase(2);

    let mut stored_phases: Vec<[Duration; 2]> = Vec::new();
    for _ in 0..REPEATS {
        let started = Instant::now();
        let report = read_stored_report(&store.path, &store.run_id).await?;
        let read = started.elapsed();
        let text = render_report(&report, ReportFormat::Terminal).map_err(|e| e.to_string())?;
        stored_phases.push([read, started.elapsed() - read]);
        if text != computed_text {
            return Err("the stored model renders other bytes than the computed report".into());
        }
    }
    let stored_phase =
        |index: usize| median(stored_phases.iter().map(|phases| phases[index]).collect());
    let stored = stored_phase(0) + stored_phase(1);
    println!(
        "  report from the stored model (terminal, {} KiB, the same bytes), median of {REPEATS}: \
         {:>7.1} ms  (read {:.1} · render {:.1}); limit {} ms: {}",
        text_size / 1024,
        millis(stored),
        millis(stored_phase(0)),
        millis(stored_phase(1)),
        LIMIT.as_millis(),
        if stored <= LIMIT { "within" } else { "OVER" }
    );
    println!(
        "  report computed from the records, median of {REPEATS}: {:>7.1} ms  (read {:.1} · \
         build {:.1} · render {:.1}; {:.1}× the stored model)",
        millis(computed),
        millis(phase(0)),
        millis(phase(1)),
        millis(phase(2)),
        computed.as_secs_f64() / stored.as_secs_f64()
    );
    println!(
        "  baseline: one SELECT of the outcome rows as stored: {:>7.1} ms  (stored model {:.2}×, \
         computed {:.1}×)",
        millis(baseline),
        stored.as_secs_f64() / baseline.as_secs_f64(),
        computed.as_secs_f64() / baseline.as_secs_f64()
    );

    let (seconds, peak_kib, bytes) = timed_command(
        &store.binary,
        &[
            "--store",
            &store.path.display().to_string(),
            "show",
            &store.run_id,
            "--json",
        ],
    )?;
    println!(
        "  show --json (debug binary): {seconds:.2} s · {:.1} MiB written · peak {:.1} MiB \
         ({:.2}× the document)",
        bytes as f64 / 1048576.0,
        peak_kib as f64 / 1024.0,
        peak_kib as f64 * 1024.0 / bytes as f64
    );
    let (seconds, peak_kib, _) = timed_command(
        &store.binary,
        &[
            "--store",
            &store.path.display().to_string(),
            "report",
            &store.run_id,
        ],
    )?;
    println!(
        "  report (debug binary, the stored model; for comparison): {seconds:.2} s · peak \
         {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
    Ok(())
}

/// What `agentpod report` reads (see the CLI's `analysis_input`): the run, its outcomes without
/// their texts, its boundary events and its sample's fields; not its steps (HTML only).
async fn read_report_input(path: &std::path::Path, run_id: &str) -> Result<RunInput, String> {
    let error = |error: agentpod_store::StoreError| error.to_string();
    let store = RunStore::open_to_read(path).await.map_err(error)?;
    let run = store.find_run(run_id).await.map_err(error)?;
    let outcomes = store.outcomes_without_texts(&run.id).await.map_err(error)?;
    let events = store.boundary_events(&run.id).await.map_err(error)?;
    let issues: Vec<(String, Value)> = store
        .run_issues(&run.id)
        .await
        .map_err(error)?
        .into_iter()
        .map(|(id, stored)| {
            let mut flat = stored["fields"].as_object().cloned().unwrap_or_default();
            flat.insert("id".to_string(), Value::String(id.clone()));
            (id, Value::Object(flat))
        })
        .collect();
    std::hint::black_box(store.run_spec(&run.id).await.map_err(error)?);
    store.close().await;
    Ok(RunInput::new(run, outcomes)
        .with_boundary_events(events)
        .with_issues(issues))
}

/// What `agentpod report` reads when the run's stored model is current (see the CLI's
/// `report_model`): the run, the model's revision and bytes, the report read back.
async fn read_stored_report(path: &std::path::Path, run_id: &str) -> Result<RunReport, String> {
    let error = |error: agentpod_store::StoreError| error.to_string();
    let store = RunStore::open_to_read(path).await.map_err(error)?;
    let run = store.find_run(run_id).await.map_err(error)?;
    let lookup = store
        .report_model(&run.id, REPORT_MODEL_VERSION)
        .await
        .map_err(error)?;
    store.close().await;
    lookup
        .and_then(|lookup| lookup.model)
        .and_then(|model| RunReport::from_stored_model(&model))
        .ok_or_else(|| "no current stored model".to_string())
}

/// Stores the computed report as the run's model, as `agentpod report` does after computing it.
async fn keep_model(path: &std::path::Path, report: &RunReport) -> Result<(), String> {
    let error = |error: agentpod_store::StoreError| error.to_string();
    let store = RunStore::open(path).await.map_err(error)?;
    let revision = store
        .report_model(&report.run_id, REPORT_MODEL_VERSION)
        .await
        .map_err(error)?
        .ok_or("a store without report models")?
        .revision;
    let model = report
        .to_stored_model()
        .ok_or("a model that does not read back")?;
    store
        .store_report_model(&report.run_id, revision, REPORT_MODEL_VERSION, &model)
        .await
        .map_err(error)?;
    store.close().await;
    Ok(())
}

/// The bench spec's `production:` section, as the CLI maps it.
fn context() -> ReportContext {
    ReportContext {
        production: Some(ProductionProfile {
            issues_per_month: 12_000.0,
            by_category: Some(CategoryMix {
                field: "category".into(),
                weights: BTreeMap::from([
                    ("billing".into(), 0.30),
                    ("shipping".into(), 0.25),
                    ("refund".into(), 0.20),
                    ("account".into(), 0.15),
                    ("bug".into(), 0.10),
                ]),
            }),
            current: Some(CurrentHandling {
                cost_usd_per_issue: 2.5,
                minutes_per_issue: 6.0,
            }),
            budgets: ProductionBudgets {
                monthly_cost_usd: Some(500.0),
                p95_cost_usd_per_issue: Some(0.05),
                p95_seconds_per_issue: Some(60.0),
            },
        }),
        ..ReportContext::default()
    }
}

/// Runs `binary args` with its output counted and thrown away: (seconds, peak RSS in KiB, bytes
/// written), from `/usr/bin/time`.
fn timed_command(binary: &std::path::Path, args: &[&str]) -> Result<(f64, u64, u64), String> {
    let times = std::env::temp_dir().join(format!("report-store-bench-{}", std::process::id()));
    let output = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&times)
        .arg(binary)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run /usr/bin/time: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{} {}: {}",
            binary.display(),
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = std::fs::read_to_string(&times).map_err(|error| error.to_string())?;
    let _ = std::fs::remove_file(&times);
    let mut fields = text.split_whitespace();
    let seconds = fields.next().and_then(|field| field.parse().ok());
    let peak = fields.next().and_then(|field| field.parse().ok());
    match (seconds, peak) {
        (Some(seconds), Some(peak)) => Ok((seconds, peak, output.stdout.len() as u64)),
        _ => Err(format!("cannot read /usr/bin/time's `{text}`")),
    }
}

fn median(mut durations: Vec<Duration>) -> Duration {
    durations.sort();
    durations[durations.len() / 2]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
