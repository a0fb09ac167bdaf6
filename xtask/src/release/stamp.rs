//! `release stamp`: write a release's versions into `Chart.yaml`, atomically; with
//! `--dry-run`, show the lines it would change and write nothing.

use anyhow::Result;

use crate::core::chart_yaml::{ChartVersions, line_changes};
use crate::project::Project;
use crate::steps::chart;

pub struct Args {
    pub version: semver::Version,
    /// Chart directory, relative to the repository root; default: the configured chart.
    pub chart: Option<String>,
    pub dry_run: bool,
}

pub fn run(project: &Project, args: Args) -> Result<()> {
    let version = args.version;
    let dir = match &args.chart {
        Some(dir) => project.root.join(dir),
        None => project.chart_dir(),
    };
    let versions = ChartVersions::for_release(&version);
    let path = chart::resolve(&project.root, &dir.join("Chart.yaml"))?;
    let shown = path
        .strip_prefix(project.root.canonicalize()?)
        .unwrap_or(&path)
        .display()
        .to_string();
    if args.dry_run {
        let (before, after) = chart::stamped(&path, &versions)?;
        print!(
            "--- {shown}\n+++ {shown} (stamped)\n{}",
            line_changes(&before, &after)
        );
        println!("dry run: nothing was written");
        return Ok(());
    }
    chart::stamp_file(&project.root, &path, &versions)?;
    println!(
        "stamped {shown}: version {}, appVersion {}",
        versions.version, versions.app_version
    );
    Ok(())
}
