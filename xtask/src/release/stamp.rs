//! `release stamp`: write a release's versions into `Chart.yaml`, atomically; with
//! `--dry-run`, show the lines it would change and write nothing.

use anyhow::Result;

use crate::cli::StampArgs;
use crate::project::Project;
use crate::publish::chart::{ChartVersions, line_changes};
use crate::publish::chart_io;
use crate::ui;

pub fn run(project: &Project, args: StampArgs) -> Result<()> {
    let version = args.version;
    let dir = match &args.chart {
        Some(dir) => project.root.join(dir),
        None => project.chart_dir(),
    };
    let versions = ChartVersions::for_release(&version);
    let path = chart_io::resolve(&project.root, &dir.join("Chart.yaml"))?;
    let shown = path
        .strip_prefix(project.root.canonicalize()?)
        .unwrap_or(&path)
        .display()
        .to_string();
    if args.dry_run {
        let (before, after) = chart_io::stamped(&path, &versions)?;
        print!(
            "--- {shown}\n+++ {shown} (stamped)\n{}",
            line_changes(&before, &after)
        );
        println!("dry run: nothing was written");
        return Ok(());
    }
    chart_io::stamp_file(&project.root, &path, &versions)?;
    println!(
        "stamped {shown}: version {}, appVersion {}",
        versions.version, versions.app_version
    );
    // The committed chart keeps its placeholders: a stamp is for packaging, never a commit.
    ui::note(&format!(
        "do not commit this: the repository keeps the 0.0.0-dev placeholders, and `release tag` needs a clean tree; `git checkout -- {shown}` puts the file back (`release publish` stamps by itself and puts the chart's files back when it ends)"
    ));
    Ok(())
}
