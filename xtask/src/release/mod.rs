//! `cargo xtask release …`: one module per command, each read top-down as its procedure.

pub mod attest_offline;
pub mod classify;
pub mod github;
pub mod plan;
pub mod promote;
pub mod publish;
pub mod rehearse;
pub mod retarget;
pub mod stamp;
pub mod status;
pub mod tag;
pub mod verify;
