//! The LLM Proxy service: everything but the command line's dispatch and the release stamps,
//! which live in `main.rs`. A release build stamps its version and commit into the binary
//! (`build_info`), so each release compiles again what reads the stamps: keeping them out of
//! this library makes that `main.rs` alone, not the whole service, for each version built.

pub mod build_info;
pub mod check;
pub mod cli;
mod connections;
mod http;
pub mod server;
pub mod shutdown;
