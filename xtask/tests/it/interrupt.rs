//! An interrupted `release tag` against real git: Ctrl-C (SIGINT to the whole foreground
//! process group, as a terminal sends it) and SIGTERM (to xtask alone, as a supervisor
//! sends it) while a `pre-receive` hook holds the push, and a server side that keeps
//! stderr open past the time bound. Checked with git 2.47 on Linux (it reads `/proc` to
//! find what survived).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Project, Run, wait, xtask_command};

/// Every process whose environment carries `marker`: the run's descendants, since they
/// inherit it, whatever process group or session they moved to.
pub fn processes_with(marker: &str) -> Vec<String> {
    let needle = format!("XTASK_TEST_MARKER={marker}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue; // gone meanwhile, or not ours
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push(format!("{pid}: {}", cmdline.trim()));
        }
    }
    found
}

/// Waits until `path` exists; fails after a minute (the hook never ran).
#[track_caller]
fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `pre-receive` hook that says it started, then holds the push until `release` exists.
fn holding_hook(project: &Project) -> (PathBuf, PathBuf) {
    let started = project.tmp.path().join("hook-started");
    let release = project.tmp.path().join("hook-release");
    project.remote_hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.05; done\n",
            started.display(),
            release.display()
        ),
    );
    (started, release)
}

fn marker(project: &Project) -> String {
    project.tmp.path().display().to_string()
}

/// Starts `release tag 1.0.0` in a process group of its own (as a shell starts a foreground
/// job), waits until the push reached the hook, and sends `signal` to `target`.
fn interrupt_push(project: &Project, signal: &str, whole_group: bool) -> Run {
    let (started, _) = holding_hook(project);
    let marker = marker(project);
    let mut command = xtask_command(
        &project.work,
        &["release", "tag", "1.0.0", "--yes", "--no-checks"],
        &[("XTASK_TEST_MARKER", &marker)],
    );
    command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = child.id();
    wait_for_file(&started);
    let target = if whole_group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    let status = Command::new("kill")
        .args(["-s", signal, "--", &target])
        .status()
        .unwrap();
    assert!(status.success());
    wait(child)
}

#[track_caller]
fn assert_known_state_and_rerun(project: &Project, run: &Run, before: &str, signal: &str) {
    assert!(
        run.stderr.contains(&format!(
            "error: interrupted by {signal} during the push: v1.0.0 is not on origin, and the local tag this run created was deleted, so a re-run starts clean: nothing changed; re-run `cargo xtask release tag v1.0.0`"
        )),
        "{run}"
    );
    let marker = marker(project);
    assert_eq!(
        processes_with(&marker),
        Vec::<String>::new(),
        "the run left processes behind:\n{run}"
    );
    // Let the hook go: nobody is left to complete the push, so nothing changes.
    std::fs::write(project.tmp.path().join("hook-release"), "").unwrap();
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    assert_eq!(project.remote_refs(), before, "the remote changed:\n{run}");
    assert_eq!(project.git(&["tag", "--list"]), "", "{run}");
    // The state is the one the message names: a re-run completes.
    project
        .xtask(&["release", "tag", "1.0.0", "--yes", "--no-checks"])
        .success()
        .stdout_has("pushed v1.0.0 to origin");
}

#[test]
fn ctrl_c_during_a_push_stops_it_and_a_rerun_completes() {
    let project = Project::new();
    let before = project.remote_refs();
    let run = interrupt_push(&project, "INT", true);
    assert_eq!(run.code, 130, "{run}");
    assert!(
        run.stderr
            .contains("xtask interrupted by SIGINT: stopping the command it started"),
        "{run}"
    );
    assert_known_state_and_rerun(&project, &run, &before, "SIGINT");
}

#[test]
fn sigterm_to_xtask_alone_stops_the_push_too() {
    let project = Project::new();
    let before = project.remote_refs();
    let run = interrupt_push(&project, "TERM", false);
    assert_eq!(run.code, 143, "{run}");
    assert_known_state_and_rerun(&project, &run, &before, "SIGTERM");
}

/// A `post-receive` hook runs after the remote updated its refs: interrupted there, the push
/// has gone through, and the run says so rather than cleaning up.
#[test]
fn ctrl_c_after_the_remote_took_the_tag_says_the_release_is_done() {
    let project = Project::new();
    let started = project.tmp.path().join("hook-started");
    let release = project.tmp.path().join("hook-release");
    project.remote_hook(
        "post-receive",
        &format!(
            "#!/bin/sh\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.05; done\n",
            started.display(),
            release.display()
        ),
    );
    let marker = marker(&project);
    let mut command = xtask_command(
        &project.work,
        &["release", "tag", "1.0.0", "--yes", "--no-checks"],
        &[("XTASK_TEST_MARKER", &marker)],
    );
    command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    wait_for_file(&started);
    Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let run = wait(child);
    std::fs::write(&release, "").unwrap();
    assert_eq!(run.code, 130, "{run}");
    assert!(
        run.stderr.contains(
            "error: interrupted by SIGINT, but the push had gone through: pushed v1.0.0 to origin: tag object "
        ),
        "{run}"
    );
    assert_eq!(processes_with(&marker), Vec::<String>::new(), "{run}");
    // The local tag is the one on the remote, and a re-run has nothing to do.
    assert_eq!(
        project.git(&["rev-parse", "v1.0.0"]),
        project.remote_git(&["rev-parse", "v1.0.0"])
    );
    project
        .xtask(&["release", "tag", "1.0.0", "--yes", "--no-checks"])
        .success()
        .stdout_has("nothing to do: v1.0.0 is already on origin");
}

#[test]
fn ctrl_c_during_the_preflight_exits_at_once_and_changes_nothing() {
    let project = Project::new();
    // The preflight asks the remote through a "remote" that never answers.
    let ssh = project.tmp.path().join("hanging-ssh");
    let started = project.tmp.path().join("ssh-started");
    std::fs::write(
        &ssh,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 600\n", started.display()),
    )
    .unwrap();
    make_executable(&ssh);
    project.git(&["remote", "set-url", "origin", "ssh://example.invalid/x.git"]);
    let before = project.snapshot();
    let marker = marker(&project);
    let mut command = xtask_command(
        &project.work,
        &["release", "tag", "1.0.0", "--yes", "--no-checks"],
        &[
            ("XTASK_TEST_MARKER", &marker),
            ("GIT_SSH_COMMAND", ssh.to_str().unwrap()),
        ],
    );
    command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = child.id();
    wait_for_file(&started);
    Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    let run = wait(child);
    assert_eq!(run.code, 130, "{run}");
    assert_eq!(processes_with(&marker), Vec::<String>::new(), "{run}");
    assert_eq!(project.snapshot(), before, "{run}");
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A server side that outlives the push and keeps its stderr open (here a process that left
/// the push's session, through an ssh stand-in) once held the run for as long as it lived.
/// The bound is hard now: the run decides and exits while that process still runs.
#[test]
fn the_time_bound_holds_when_the_server_keeps_stderr_open() {
    let project = Project::new();
    let (_, release) = holding_hook(&project);
    let lingering = project.tmp.path().join("lingering.pid");
    // An ssh stand-in: it starts a process in a session of its own that holds stderr, then
    // runs the command git asked for, here.
    let ssh = project.tmp.path().join("ssh-stand-in");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\n\
             while [ $# -gt 1 ]; do case \"$1\" in -o|-p) shift 2;; -*) shift;; *) break;; esac; done\n\
             shift\n\
             setsid sh -c 'echo $$ >> {pids}; exec sleep 600' >/dev/null &\n\
             exec sh -c \"$*\"\n",
            pids = lingering.display()
        ),
    )
    .unwrap();
    make_executable(&ssh);
    let url = format!("ssh://stand-in{}", project.remote.display());
    project.git(&["remote", "set-url", "origin", &url]);
    let before = project.remote_refs();
    let marker = marker(&project);

    let run = project
        .xtask_env(
            &["release", "tag", "1.0.0", "--yes", "--no-checks"],
            &[
                ("GIT_SSH_COMMAND", ssh.to_str().unwrap()),
                ("RELEASE_GIT_TIMEOUT", "2"),
                ("XTASK_TEST_MARKER", &marker),
            ],
        )
        .failure();
    let pids = std::fs::read_to_string(&lingering).unwrap();
    let alive: Vec<&str> = pids
        .lines()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    // Stop what the stand-in left, by its ids, before asserting anything.
    for pid in pids.lines() {
        let _ = Command::new("kill").args(["-s", "KILL", pid]).status();
    }
    std::fs::write(&release, "").unwrap();
    assert!(
        !alive.is_empty(),
        "the run ended only after the process holding stderr did:\n{run}"
    );
    assert!(
        run.stderr.contains(
            "error: the push gave no answer within 2s, and v1.0.0 is not on origin; the local tag this run created was deleted"
        ),
        "{run}"
    );
    assert_eq!(project.remote_refs(), before);
    assert_eq!(project.git(&["tag", "--list"]), "");
}

/// The signal thread stops the children with the `kill` program; `main` once returned as soon
/// as its own command had ended, while that `kill` (and whatever it had still to stop) was
/// running, about one run in twelve. A `kill` that lingers after sending SIGTERM makes that
/// moment last (the SIGKILL that follows is quick): no process of the run, the `kill`s
/// included, may outlive xtask.
#[test]
fn no_kill_of_the_signal_thread_outlives_xtask() {
    let project = Project::new();
    let real_kill = which_kill();
    let bin = project.tmp.path().join("slow-kill-bin");
    std::fs::create_dir(&bin).unwrap();
    let kill = bin.join("kill");
    std::fs::write(
        &kill,
        format!(
            "#!/bin/sh\n'{}' \"$@\"\nif [ \"$2\" = TERM ]; then sleep 1; fi\n",
            real_kill.display()
        ),
    )
    .unwrap();
    make_executable(&kill);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let ssh = project.tmp.path().join("hanging-ssh");
    let started = project.tmp.path().join("ssh-started");
    std::fs::write(
        &ssh,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 600\n", started.display()),
    )
    .unwrap();
    make_executable(&ssh);
    project.git(&["remote", "set-url", "origin", "ssh://example.invalid/x.git"]);
    let marker = marker(&project);
    for (signal, whole_group, code) in [("INT", true, 130), ("TERM", false, 143)] {
        let _ = std::fs::remove_file(&started);
        let mut command = xtask_command(
            &project.work,
            &["release", "tag", "1.0.0", "--yes", "--no-checks"],
            &[
                ("XTASK_TEST_MARKER", &marker),
                ("GIT_SSH_COMMAND", ssh.to_str().unwrap()),
                ("PATH", &path),
            ],
        );
        command
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command.spawn().unwrap();
        let pid = child.id();
        wait_for_file(&started);
        let target = if whole_group {
            format!("-{pid}")
        } else {
            pid.to_string()
        };
        Command::new(&real_kill)
            .args(["-s", signal, "--", &target])
            .status()
            .unwrap();
        let run = wait(child);
        let left = processes_with(&marker);
        for line in &left {
            let pid = line.split(':').next().unwrap();
            let _ = Command::new(&real_kill).args(["-s", "KILL", pid]).status();
        }
        assert_eq!(run.code, code, "{run}");
        assert_eq!(
            left,
            Vec::<String>::new(),
            "SIG{signal}: the run left processes behind:\n{run}"
        );
    }
}

/// The `kill` program on the test's own PATH.
fn which_kill() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join("kill"))
        .find(|p| p.is_file())
        .expect("`kill` on PATH (procps)")
}
