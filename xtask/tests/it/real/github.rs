//! `release github` with the real gh against a recording stand-in for the GitHub API.
