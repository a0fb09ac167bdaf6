//! The external programs xtask runs, each named once with what it is for and how to get it,
//! and the list each command needs, so that every preflight names every missing tool at once,
//! before anything is changed or confirmed.

/// One external program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    /// What to do when it is missing.
    pub install: &'static str,
}

/// Every program xtask runs, in one table.
pub const TOOLS: [Tool; 13] = [
    Tool {
        name: "git",
        install: "install git 2.29 or newer",
    },
    Tool {
        name: "cargo",
        install: "install Rust with rustup (https://rustup.rs)",
    },
    Tool {
        name: "timeout",
        install: "install GNU coreutils (on macOS: `brew install coreutils`, then put its gnubin directory on PATH); it bounds every network call",
    },
    Tool {
        name: "kill",
        install: "install procps (Debian/Ubuntu: apt-get install procps); xtask stops the commands it started with it when interrupted",
    },
    Tool {
        name: "curl",
        install: "install curl; it asks registries what they already hold",
    },
    Tool {
        name: "tar",
        install: "install tar; it unpacks charts to compare them",
    },
    Tool {
        name: "helm",
        install: "install Helm v3.18.0, the version releases are pinned to: scripts/install-test-tools.sh chart",
    },
    Tool {
        name: "docker",
        install: "install the Docker CLI with the buildx plugin, or set RELEASE_IMAGE_BUILDER=buildah",
    },
    Tool {
        name: "buildah",
        install: "install buildah (Debian/Ubuntu: apt-get install buildah)",
    },
    Tool {
        name: "skopeo",
        install: "install skopeo (Debian/Ubuntu: apt-get install skopeo); the buildah builder re-tags with it",
    },
    Tool {
        name: "gh",
        install: "install the GitHub CLI (https://cli.github.com)",
    },
    Tool {
        name: "kubernetes-validate",
        install: "install it with `scripts/install-test-tools.sh chart` (PyPI kubernetes-validate, which ships Kubernetes' schemas for offline use)",
    },
    Tool {
        name: "docker-registry",
        install: "install the CNCF distribution registry (Debian/Ubuntu: apt-get install docker-registry; or run scripts/install-test-tools.sh); `rehearse --local-registry` starts it on 127.0.0.1",
    },
];

/// The validator of rendered manifests, pinned: its version decides which Kubernetes
/// versions it has schemas for (its newest minor is the newest validated). `tidy.rs` holds
/// it equal to the install script's.
pub const KUBERNETES_VALIDATE_VERSION: &str = "1.37.0";

/// `release tag`: git, cargo for the project's checks, `timeout` for the network calls, and
/// `kill`, which stops a push's whole process group when the user interrupts it.
pub const TAG: [&str; 4] = ["git", "cargo", "timeout", "kill"];

/// `release promote` without its gate.
pub const PROMOTE: [&str; 3] = ["git", "timeout", "kill"];

/// What `release rehearse --local-registry` adds: the registry it starts.
pub const LOCAL_REGISTRY: [&str; 1] = ["docker-registry"];

/// `release verify` of the artifacts, and so the promotion gate: git asks the remote, curl
/// the registry, tar reads the chart's Chart.yaml, helm renders it.
pub const VERIFY_ARTIFACTS: [&str; 5] = ["git", "timeout", "curl", "tar", "helm"];

/// The helm that packages and compares charts in CI (`scripts/install-test-tools.sh`
/// installs it; `tidy.rs` holds the two equal). "The same chart" is decided by the packaged
/// files, which another helm may write differently, so a re-run of a half-published release
/// after a runner update must package with this very helm.
pub const HELM_VERSION: &str = "v3.18.0";

/// What the helm on PATH means for a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelmCheck {
    Pinned,
    /// A laptop: another helm is likely, and a rehearsal with it is still useful.
    Warn(String),
    /// CI: the pin is what makes a re-run reproduce; another helm means the workflow is wrong.
    Refuse(String),
}

/// Judges the helm that reports `found` (`helm version --template {{.Version}}`).
pub fn check_helm(found: &str, ci: bool) -> HelmCheck {
    let found = found.trim();
    if found == HELM_VERSION {
        return HelmCheck::Pinned;
    }
    let why = format!(
        "helm {found} is not the pinned {HELM_VERSION}: a chart packaged by another helm may differ from the one published, and a re-run would then refuse it as other content (install it with scripts/install-test-tools.sh chart)"
    );
    if ci {
        HelmCheck::Refuse(why)
    } else {
        HelmCheck::Warn(why)
    }
}

/// What to do about a missing tool, as one line.
pub fn missing(name: &str) -> String {
    let install = TOOLS
        .iter()
        .find(|t| t.name == name)
        .map_or("install it", |t| t.install);
    format!("`{name}` not found on PATH: {install}")
}

/// `lists` joined, each tool once, in first-seen order.
pub fn union<'a>(lists: impl IntoIterator<Item = &'a [&'static str]>) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for tool in lists.into_iter().flatten() {
        if !all.contains(tool) {
            all.push(tool);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_tool_has_an_install_hint() {
        for tool in union([
            &TAG[..],
            &PROMOTE[..],
            &VERIFY_ARTIFACTS[..],
            &LOCAL_REGISTRY[..],
        ]) {
            assert!(
                TOOLS.iter().any(|t| t.name == tool),
                "{tool} is missing from TOOLS"
            );
        }
        assert_eq!(
            missing("helm"),
            "`helm` not found on PATH: install Helm v3.18.0, the version releases are pinned to: scripts/install-test-tools.sh chart"
        );
        // The hint names the pin itself, not a copy that could fall behind it.
        assert!(missing("helm").contains(&format!("Helm {HELM_VERSION},")));
        assert_eq!(missing("frob"), "`frob` not found on PATH: install it");
    }

    #[test]
    fn another_helm_is_a_warning_on_a_laptop_and_a_refusal_in_ci() {
        assert_eq!(check_helm("v3.18.0\n", true), HelmCheck::Pinned);
        let HelmCheck::Warn(why) = check_helm("v3.19.1", false) else {
            panic!("a warning")
        };
        assert!(
            why.starts_with("helm v3.19.1 is not the pinned v3.18.0: "),
            "{why}"
        );
        assert_eq!(check_helm("v3.19.1", true), HelmCheck::Refuse(why));
    }

    #[test]
    fn union_keeps_the_first_occurrence() {
        assert_eq!(
            union([&PROMOTE[..], &VERIFY_ARTIFACTS[..]]),
            ["git", "timeout", "kill", "curl", "tar", "helm"]
        );
    }
}
