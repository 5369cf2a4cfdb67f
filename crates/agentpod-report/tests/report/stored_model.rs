//! The report model as the run store keeps it: read back (with the timelines read afresh from
//! the same records), it renders every format to the same bytes as the report it was made from;
//! a report that would not read back the same is not stored.

use agentpod_report::{ReportFormat, RunReport, render_report};

use crate::renderings::report;
use crate::support::small_run;

#[test]
fn a_stored_model_renders_every_format_to_the_same_bytes() {
    let report = report();
    assert!(
        !report.timelines.is_empty(),
        "the HTML page shows timelines"
    );
    let model = report.to_stored_model().expect("the report reads back");
    let read = RunReport::from_stored_model(&model).expect("a model of this shape");
    assert!(read.timelines.is_empty(), "timelines are not stored");
    let read = read.with_timelines(&small_run());
    for format in ReportFormat::ALL {
        assert_eq!(
            render_report(&read, format).unwrap(),
            render_report(&report, format).unwrap(),
            "{format:?}"
        );
    }
}

#[test]
fn a_report_with_a_figure_json_cannot_hold_is_not_stored() {
    let mut report = report();
    report.issues[0].seconds = f64::NAN;
    assert_eq!(report.to_stored_model(), None);
}

#[test]
fn bytes_of_another_shape_are_not_a_model() {
    assert!(RunReport::from_stored_model(br#"{"report": {"run_id": "x"}}"#).is_none());
    assert!(RunReport::from_stored_model(b"not json").is_none());
}
