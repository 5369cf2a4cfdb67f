//! Entry points for the fuzz targets under `tests/fuzz`: the spec parser on text, without a
//! file. Not part of the crate's interface; hidden from its documentation.

use std::path::Path;

use crate::{PodSpec, SpecError};

/// Parses and validates `text` as the pod spec `fuzz/pod.yaml` (a path that does not exist, so
/// the paths it names resolve to nothing on disk).
pub fn load_text(text: &str) -> Result<PodSpec, SpecError> {
    crate::load::load_source(Path::new("fuzz/pod.yaml"), text)
}
