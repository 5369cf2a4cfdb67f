//! Integration tests of the report crate: runs with known outcomes, every figure checked against
//! a hand or direct computation, the summary and the renderings parsed back or snapshotted, and
//! the HTML page rendered in a real headless browser.

mod agreement;
mod browser;
mod comparison;
mod gate;
mod projection;
mod renderings;
mod report;
mod statistics;
mod stored_model;
mod summary;
mod support;
