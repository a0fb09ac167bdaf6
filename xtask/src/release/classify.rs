//! `release classify`: print what a tag means, the one grammar every workflow asks.

use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::ClassifyArgs;
use crate::tag::grammar::Classified;

pub fn run(args: ClassifyArgs) -> Result<()> {
    let classified = args.tag.meaning;
    let (kind, version) = match &classified {
        Classified::Release(tag) => (tag.kind_name(), tag.version.to_string()),
        Classified::Ignored => ("ignored", String::new()),
    };
    if args.github_output {
        let path = std::env::var_os("GITHUB_OUTPUT").context(
            "--github-output needs $GITHUB_OUTPUT, which GitHub Actions sets for each step",
        )?;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("cannot open $GITHUB_OUTPUT ({})", path.to_string_lossy()))?;
        write!(file, "kind={kind}\nversion={version}\n").context("cannot write $GITHUB_OUTPUT")?;
    }
    match classified {
        Classified::Release(_) => println!("{kind} {version}"),
        Classified::Ignored => println!("ignored"),
    }
    Ok(())
}
