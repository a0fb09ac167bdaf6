//! Scratch directories: one per run of a command, unique, removed when dropped unless kept.
//!
//! Publish keeps downloaded manifests and packages there, verify one subdirectory per
//! thread (the registry client writes its response files into it), rehearse its throwaway
//! clone.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    /// A new, empty directory under the system's temporary directory, named after `purpose`.
    pub fn new(purpose: &str) -> Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("xtask-{purpose}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch { path, keep: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The subdirectory `name`, created.
    pub fn dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.path.join(name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    /// Leaves the directory in place when dropped, for inspection.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
