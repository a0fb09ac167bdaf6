//! The steps commands carry out that are more than one external command: pushing a release
//! tag and deciding its outcome from the remote, and publishing the image and the chart
//! without ever overwriting a published version.
//!
//! Commands live in `release/`, one module each; they call these.

pub mod chart;
pub mod image;
pub mod push_tag;
