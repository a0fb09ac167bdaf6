//! The confirmation of `release tag` and `release promote` on a real terminal: util-linux
//! `script` runs the command on a pseudo-terminal (stdin, stdout and stderr), whose input
//! ends at once, so the question gets no answer.

use std::process::{Command, Stdio};

use crate::support::{Project, Run};

/// `xtask ARGS`, then `| cat` when `piped`, on a terminal.
fn on_a_terminal(project: &Project, args: &str, piped: bool) -> Run {
    let script = which::which("script")
        .unwrap_or_else(|_| panic!("`script` (util-linux) is needed to give xtask a terminal"));
    let line = format!(
        "{} -C {} {args}{}",
        env!("CARGO_BIN_EXE_xtask"),
        project.work.display(),
        if piped { " | cat" } else { "" }
    );
    let out = crate::support::hermetic(Command::new(script))
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        // The terminal mixes both streams, with its own line ends.
        stdout: String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_question_follows_the_plan_on_a_terminal() {
    let project = Project::new();
    let before = project.snapshot();
    let run = on_a_terminal(&project, "release tag 1.0.0 --no-checks", false);
    assert_eq!(run.code, 1, "{run}");
    let plan = run.stdout.find("release tag v1.0.0\n").expect("the plan");
    let question = run
        .stdout
        .find("release tag v1.0.0: carry out the steps above? [y/N] ")
        .expect("the question");
    assert!(plan < question, "{run}");
    assert!(
        run.stdout
            .contains("error: release tag v1.0.0 cancelled: nothing was changed"),
        "{run}"
    );
    assert_eq!(project.snapshot(), before);
}

/// Behind a pipe the plan reaches the terminal whenever `cat` or a pager gets to it, often
/// after a question asked at once: the question is not asked.
#[test]
fn no_question_about_a_plan_sent_to_a_pipe() {
    let project = Project::new();
    let before = project.snapshot();
    // (The pipeline's exit code is cat's.)
    let run = on_a_terminal(&project, "release tag 1.0.0 --no-checks", true);
    assert!(!run.stdout.contains("[y/N]"), "{run}");
    assert!(
        run.stdout.contains(
            "error: release tag v1.0.0 needs confirmation, and its plan went to a pipe or a file rather than this terminal, so nothing was changed: read the plan, then re-run with --yes to confirm (or without the pipe to be asked)"
        ),
        "{run}"
    );
    // The plan itself still went through the pipe.
    assert!(run.stdout.contains("release tag v1.0.0\n"), "{run}");
    assert_eq!(project.snapshot(), before);
}
