//! Tag signing with a real GnuPG (2.2) key: `release tag` signs as `tag.gpgSign` says. The
//! refusals without a key need no GnuPG and are in `laptop.rs`.

use std::path::PathBuf;

use crate::laptop::tag;
use crate::support::Project;

/// A GnuPG home for the test, with an unprotected signing key for the tester's email; gpg's
/// agent is stopped when dropped.
struct GnupgHome {
    dir: PathBuf,
}

impl GnupgHome {
    fn new(project: &Project) -> GnupgHome {
        let dir = project.tmp.path().join("gnupg");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let home = GnupgHome { dir };
        let out = home
            .gpg()
            .args(["--batch", "--passphrase", "", "--quick-gen-key"])
            .args([
                "Release Tester <tester@example.invalid>",
                "ed25519",
                "sign",
                "never",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg --quick-gen-key failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        home
    }

    fn gpg(&self) -> std::process::Command {
        let mut gpg = crate::support::hermetic(std::process::Command::new("gpg"));
        gpg.env("GNUPGHOME", &self.dir);
        gpg
    }

    fn env(&self) -> (&'static str, &str) {
        ("GNUPGHOME", self.dir.to_str().unwrap())
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = std::process::Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", &self.dir)
            .status();
    }
}

#[test]
fn signing_with_a_key_signs_as_configured() {
    super::require("gpg");
    let project = Project::new();
    project.git(&["config", "tag.gpgSign", "true"]);
    let gnupg = GnupgHome::new(&project);
    let run = tag(&project, &[gnupg.env()])
        .success()
        .stdout_has(
            "ok    the tag will be signed (tag.gpgSign, gpg.format openpgp): gpg has a secret key for tester@example.invalid",
        )
        .stdout_has("git tag -a -s v1.0.0");
    let object = project.remote_git(&["cat-file", "-p", "v1.0.0"]);
    assert!(
        object.contains("-----BEGIN PGP SIGNATURE-----"),
        "{run}\n{object}"
    );
}
