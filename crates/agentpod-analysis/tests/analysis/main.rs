//! Integration tests of the analysis: runs with known outcomes, every figure checked against a
//! hand or direct computation, the renderings parsed back or snapshotted, and the HTML page
//! rendered in a real headless browser.

mod agreement;
mod browser;
mod comparison;
mod gate;
mod projection;
mod renderings;
mod report;
mod statistics;
mod support;
