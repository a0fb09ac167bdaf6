//! xtask's integration tests: one binary, a fresh temporary repository per test, real git
//! with a local bare remote, and the built `xtask` pointed at it with `-C`.

mod support;

mod capped;
mod confirm;
mod docs;
mod dry_runs;
mod interrupt;
mod laptop;
mod plan;
mod promote;
mod publish;
#[cfg(feature = "real-tools")]
mod real;
mod rehearse;
mod snapshots;
mod stamp;
mod switches;
mod tag;
mod tidy;
mod usage;
mod verify;
mod workflows;
