//! Release tags: the one tag grammar, and the commands that write tags to the remote
//! (`release tag` and `release promote`): their facts, every preflight problem at once, the
//! exact git commands, pushing one ref and deciding the outcome by re-reading the remote.

pub mod git;
pub mod git_io;
pub mod grammar;
pub mod plan;
pub mod push_io;
