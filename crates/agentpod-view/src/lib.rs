//! `agentpod view`: the run store as read-only pages in a browser, served on loopback.
//!
//! - [`source`]: what the pages read, as a trait ([`RunSource`]) with the SQLite run store's
//!   implementation; another store backend implements the same trait.
//! - `server`: the routes (`/runs`, `/runs/{run}`, `/runs/{run}/issues/{issue}`,
//!   `/compare?runs=a,b`, `/runs/{run}/proposals`), the checks every request passes (a loopback
//!   `Host`, so another site cannot reach the store through the browser) and the headers every
//!   page carries (a content security policy that runs no script at all).
//! - `pages`: one module per page. The run and compare pages are the report crate's HTML views
//!   with links around them, so the viewer holds no second copy of a figure or its markup; every
//!   text from the agent or an issue goes through `inert_text`.
//!
//! Every asset is in the binary: the pages' CSS is inline and the icon is an embedded SVG.

mod error;
mod pages;
mod server;
pub mod source;

pub use error::ViewError;
pub use server::{ACCESS_COOKIE, new_access_token, router, serve};
pub use source::{IssueRecords, RunSource, StoreSource};
