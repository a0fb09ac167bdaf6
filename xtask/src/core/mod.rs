//! The pure release core: grammar, configuration, planning, chart editing, the OCI rules,
//! registry logins, verification rules, and the decisions of the commands that write git tags (preflight, plan, git output).
//!
//! Everything here takes data and returns data. It spawns no process and touches no file
//! (a test in `tests/it/tidy.rs` holds it to that), so every rule of the release contract
//! is tested in microseconds, and a dry run and a real run share one plan.

pub mod auth;
pub mod chart_yaml;
pub mod cmd;
pub mod config;
pub mod git_output;
pub mod git_plan;
pub mod grammar;
pub mod json;
pub mod oci;
pub mod plan;
pub mod record;
pub mod rules;
pub mod tools;
pub mod verify;
