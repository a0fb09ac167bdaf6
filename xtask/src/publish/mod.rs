//! Publishing a version: which image tags and chart versions a release gets (the rules every
//! other command asks), the ordered plan of a publish, `Chart.yaml` stamping, and the steps
//! that push the image and the chart without ever overwriting a published version.

pub mod chart;
pub mod chart_io;
pub mod github_release;
pub mod image_io;
pub mod plan;
pub mod retarget;
pub mod rules;
pub mod steps;
pub mod steps_io;
