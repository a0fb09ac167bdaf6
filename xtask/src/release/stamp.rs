//! `release stamp`: write a release's versions into `Chart.yaml`, atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::core::chart_yaml::{ChartVersions, stamp_chart};
use crate::project::Project;

pub struct Args {
    pub version: semver::Version,
    /// Chart directory, relative to the repository root; default: the configured chart.
    pub chart: Option<String>,
}

pub fn run(project: &Project, args: Args) -> Result<()> {
    let version = args.version;
    let dir = match &args.chart {
        Some(dir) => project.root.join(dir),
        None => project.chart_dir(),
    };
    let versions = ChartVersions::for_release(&version);
    let path = stamp(&project.root, &dir.join("Chart.yaml"), &versions)?;
    let shown = path
        .strip_prefix(&project.root)
        .unwrap_or(&path)
        .display()
        .to_string();
    println!(
        "stamped {shown}: version {}, appVersion {}",
        versions.version, versions.app_version
    );
    Ok(())
}

/// Stamps the `Chart.yaml` at `path`, which must resolve inside `root`. Returns the
/// resolved path. The file is replaced by rename, so it is never seen half-written.
pub fn stamp(root: &Path, path: &Path, versions: &ChartVersions) -> Result<PathBuf> {
    let resolved = path
        .canonicalize()
        .with_context(|| format!("cannot find {}", path.display()))?;
    let root = root.canonicalize()?;
    if !resolved.starts_with(&root) {
        bail!(
            "{} resolves to {}, outside the repository: refusing to write there",
            path.display(),
            resolved.display()
        );
    }
    let bytes =
        std::fs::read(&resolved).with_context(|| format!("cannot read {}", resolved.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
    let stamped =
        stamp_chart(&text, versions).with_context(|| format!("cannot stamp {}", path.display()))?;
    if stamped != text {
        write_atomically(&resolved, &stamped)?;
    }
    Ok(resolved)
}

pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_file_name(format!(
        ".{}.xtask-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.set_permissions(std::fs::metadata(path)?.permissions())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}
