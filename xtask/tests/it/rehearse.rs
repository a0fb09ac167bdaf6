//! `release rehearse --local-registry` without running it: its plan, and the missing tool
//! named before anything starts (the run itself is a real-tools test, `real::rehearse`).

use crate::support::Project;

#[test]
fn local_registry_dry_run_names_the_registry_and_runs_nothing() {
    let project = Project::new();
    let before = project.snapshot();
    let run = project
        .xtask(&[
            "release",
            "rehearse",
            "2.0.0",
            "--local-registry",
            "--dry-run",
        ])
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[1..7],
        [
            "  a throwaway registry: docker-registry serve <scratch>/registry/config.yml, on 127.0.0.1:<a free port>, its storage in the scratch directory",
            "  image: 127.0.0.1:<port>/llm-proxy",
            "  chart registry: oci://127.0.0.1:<port>/charts",
            "  RELEASE_PLAIN_HTTP=1",
            "  RELEASE_IMAGE_BUILDER=buildah",
            "  GitHub: none; the stages name the repository rehearsal/llm-proxy, and gh's configuration (<scratch>/gh) points at a socket nobody listens on",
        ],
        "{run}"
    );
    assert!(run.stdout.ends_with("dry run: nothing was run\n"), "{run}");
    assert_eq!(project.snapshot(), before);
}

#[test]
fn a_missing_docker_registry_is_named() {
    let project = Project::new();
    // A PATH with git and nothing else.
    let bin = project.tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(which::which("git").unwrap(), bin.join("git")).unwrap();
    for args in [
        &["release", "rehearse", "2.0.0", "--local-registry"][..],
        &[
            "release",
            "rehearse",
            "2.0.0",
            "--local-registry",
            "--dry-run",
        ],
    ] {
        project
            .xtask_env(args, &[("PATH", bin.to_str().unwrap())])
            .failure()
            .stderr_has(
                "--local-registry starts Debian's docker-registry, and `docker-registry` not found on PATH: install the CNCF distribution registry (Debian/Ubuntu: apt-get install docker-registry",
            );
    }
}
