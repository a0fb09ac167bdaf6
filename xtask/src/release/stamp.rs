//! `release stamp`: write a release's versions into `Chart.yaml`, atomically; with
//! `--dry-run`, print the change as a unified diff and write nothing.

use anyhow::Result;

use crate::cli::{StampArgs, UsageError};
use crate::project::Project;
use crate::publish::chart::{ChartVersions, has_annotated_image, unified_diff};
use crate::publish::chart_io;
use crate::ui;

pub fn run(project: &Project, args: StampArgs) -> Result<()> {
    let version = args.version;
    let dir = match &args.chart {
        Some(dir) => project.root.join(dir),
        None => project.chart_dir(),
    };
    // A `--chart` that names no chart is a mistyped argument, not a failed stamp.
    if let Some(given) = args
        .chart
        .as_deref()
        .filter(|_| !dir.join("Chart.yaml").is_file())
    {
        return Err(UsageError(format!(
            "--chart {}: no Chart.yaml there; expected a chart directory relative to the repository root, such as {}",
            crate::quote::quote(given),
            project.config.chart
        ))
        .into());
    }
    let versions = ChartVersions::for_release(&version);
    let path = chart_io::resolve(&project.root, &dir.join("Chart.yaml"))?;
    let shown = path
        .strip_prefix(project.root.canonicalize()?)
        .unwrap_or(&path)
        .display()
        .to_string();
    let (before, after) = chart_io::stamped(&path, &versions)?;
    if args.dry_run {
        // The patch alone on stdout, for `git apply` or `patch -p1`.
        print!("{}", unified_diff(&shown, &before, &after));
        ui::note("dry run: nothing was written");
        return Ok(());
    }
    chart_io::stamp_file(&project.root, &path, &versions)?;
    let image = match has_annotated_image(&before) {
        true => format!(
            ", and the tag of its artifacthub.io/images image: {}",
            versions.app_version
        ),
        false => String::new(),
    };
    println!(
        "stamped {shown}: version {}, appVersion {}{image}",
        versions.version, versions.app_version
    );
    // The committed chart keeps its placeholders: a stamp is for packaging, never a commit.
    ui::note(&format!(
        "do not commit this: the repository keeps the 0.0.0-dev placeholders, and `release tag` needs a clean tree; `git checkout -- {shown}` puts the file back (`release publish` stamps by itself and puts the chart's files back when it ends)"
    ));
    Ok(())
}
