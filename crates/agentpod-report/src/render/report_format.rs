//! `ReportFormat` and the entry points that pick a renderer for it.

use std::str::FromStr;

use crate::figures::comparison::Comparison;
use crate::figures::error::ReportError;
use crate::figures::gate::GateResult;
use crate::figures::run_report::RunReport;

use super::{html, junit, markdown, terminal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Terminal,
    Json,
    Markdown,
    Junit,
    Html,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Terminal,
        ReportFormat::Json,
        ReportFormat::Markdown,
        ReportFormat::Junit,
        ReportFormat::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Terminal => "terminal",
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Junit => "junit",
            ReportFormat::Html => "html",
        }
    }
}

impl FromStr for ReportFormat {
    type Err = ReportError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| ReportError::UnknownFormat(text.to_string()))
    }
}

pub fn render_report(report: &RunReport, format: ReportFormat) -> Result<String, ReportError> {
    Ok(match format {
        ReportFormat::Terminal => terminal::report(report),
        ReportFormat::Json => json("run report", report)?,
        ReportFormat::Markdown => markdown::report(report),
        ReportFormat::Junit => junit::report(report)?,
        ReportFormat::Html => html::report(report),
    })
}

pub fn render_comparison(
    comparison: &Comparison,
    format: ReportFormat,
) -> Result<String, ReportError> {
    Ok(match format {
        ReportFormat::Terminal => terminal::comparison(comparison),
        ReportFormat::Json => json("comparison", comparison)?,
        ReportFormat::Markdown => markdown::comparison(comparison),
        ReportFormat::Junit => junit::comparison(comparison)?,
        ReportFormat::Html => html::comparison(comparison),
    })
}

/// The gate result; HTML has nothing to add to the Markdown, so it is refused.
pub fn render_gate(gate: &GateResult, format: ReportFormat) -> Result<String, ReportError> {
    Ok(match format {
        ReportFormat::Terminal => terminal::gate(gate),
        ReportFormat::Json => json("gate result", gate)?,
        ReportFormat::Markdown => markdown::gate(gate),
        ReportFormat::Junit => junit::gate(gate)?,
        ReportFormat::Html => {
            return Err(ReportError::UnsupportedFormat {
                what: "a gate result",
                format: "html",
            });
        }
    })
}

fn json(what: &'static str, value: &impl serde::Serialize) -> Result<String, ReportError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|source| ReportError::Json { what, source })?;
    text.push('\n');
    Ok(text)
}
