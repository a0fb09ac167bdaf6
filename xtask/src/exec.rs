//! The one way xtask runs an external command: a core [`Invocation`] in, its argv run exactly as
//! the dry run printed it (`timeout` included), a secret fed on stdin from the environment
//! and scrubbed from anything shown, the tool's output streamed to stderr or captured; and
//! the one place that stops what xtask started when it is interrupted.
//!
//! Three verbs, chosen by what the caller needs of the command: [`run`] for an action that
//! is part of the log, [`read`] for a question whose answer is stdout, [`output`] for a
//! question whose exit code is the answer.
//!
//! Every child is supervised, because two things go wrong with plain `wait`:
//! - `timeout` puts itself and the command in a process group of their own, so the
//!   terminal's Ctrl-C reaches xtask but never the `git push` it started, which then lands
//!   the tag after the user gave up. So xtask catches SIGINT and SIGTERM (with
//!   `signal-hook`: a handler needs `unsafe`, which the workspace forbids) and stops each
//!   child's whole process group itself (`kill -s TERM -- -PGID`, then `KILL`).
//! - A process that outlives the command but keeps its stderr open (a server-side hook, an
//!   ssh multiplexer) made reading the output wait for it, long after `timeout` had stopped
//!   the command. Output is read on threads of its own and given up on shortly after the
//!   command ended, and a bounded command's group is killed once `timeout` itself has had
//!   its time: the bound is hard.
//!
//! After a signal no new command starts, except inside [`winding_down`], which `release
//! tag` and `release promote` use to read the remote and decide what the interrupted push
//! left. Inside [`guarded`] the main thread ends the run; elsewhere the signal thread stops
//! the children and exits at once. Either way the exit code is 128 + the signal (130, 143).

use std::cell::Cell;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::invocation::{Invocation, KILL_AFTER_SECS};

/// How long xtask waits beyond what `timeout` itself allows (its bound, then
/// [`KILL_AFTER_SECS`]) before it kills a bounded command's group itself, and how long it
/// reads a command's output after the command ended.
const GRACE: Duration = Duration::from_secs(2);

/// `$ cmd` on stderr before a command runs, as a log line of its step; `-q` leaves it out
/// with the rest of the progress (the tool's own output is still shown).
fn echo(shown: &str) {
    if crate::ui::level() > crate::ui::Level::Quiet {
        eprintln!("$ {shown}");
    }
}

/// Runs `cmd` as a log line of the current step: `$ cmd`, then the tool's own output, all on
/// stderr, so that stdout keeps only the data xtask prints. Fails on a non-zero exit.
pub fn run(sh: &Shell, cmd: &Invocation) -> Result<()> {
    echo(&cmd.to_string());
    if cmd.stdin_from.is_some() {
        // A command reading a secret answers briefly; capture it so the secret can be
        // scrubbed from what it says.
        let out = output(sh, cmd)?;
        let secret = secret(cmd)?;
        eprint!("{}", scrub(&String::from_utf8_lossy(&out.stderr), &secret));
        return check(cmd, &out, &secret);
    }
    let shown = cmd.to_string();
    streamed(
        command_of(sh, cmd),
        &shown,
        cmd.timeout_secs,
        Group::from_bound(cmd),
    )
}

/// Runs `cmd` like [`run`], but in a process group of its own: the terminal's Ctrl-C reaches
/// it only through xtask, exactly once. For the stages of `release rehearse`, which are xtask
/// processes that wind down on a signal themselves and must not get it twice.
///
/// The stage is told, through [`STAGE_OF`], that its interrupts are announced here: the
/// person pressed Ctrl-C once and reads of it once, not a second time as the SIGTERM this
/// process relays. Like the process group, this is how the command is supervised, not part
/// of it, and is not printed.
pub fn run_apart(sh: &Shell, cmd: &Invocation) -> Result<()> {
    echo(&cmd.to_string());
    let shown = cmd.to_string();
    let mut command = command_of(sh, cmd);
    command.env(STAGE_OF, std::process::id().to_string());
    streamed(command, &shown, cmd.timeout_secs, Group::Own)
}

/// Set by [`run_apart`] to the pid of the xtask that started the stage and reports its
/// interrupts. Checked against the actual parent, so that a process the stage starts in turn
/// does not inherit the silence.
const STAGE_OF: &str = "RELEASE_REHEARSAL_PID";

/// Whether this process was interrupted as a stage whose parent tells the person about it
/// ([`run_apart`]), so that what the stage would add (its command "was stopped: interrupted
/// by SIGTERM") is left out: the parent's line says which signal came and what it stopped.
pub fn interrupt_told_by_parent() -> bool {
    interrupted().is_some() && parent_announces_interrupts()
}

/// Whether this process is a stage whose parent announces interrupts ([`run_apart`]).
fn parent_announces_interrupts() -> bool {
    std::env::var(STAGE_OF)
        .ok()
        .and_then(|pid| pid.parse().ok())
        == Some(std::os::unix::process::parent_id())
}

/// Runs a command written as an `xshell::cmd!` line (the project's own checks, whose
/// commands are fixed) the way [`run`] runs a planned one: `$ cmd`, then its output, on
/// stderr. In a process group of its own: a build's many processes stop together.
pub fn stream(cmd: xshell::Cmd<'_>) -> Result<()> {
    let shown = cmd.to_string();
    echo(&shown);
    streamed(cmd.into(), &shown, None, Group::Own)
}

fn streamed(mut command: Command, shown: &str, bound: Option<u64>, group: Group) -> Result<()> {
    command.stdout(std::io::stderr()).stdin(Stdio::null());
    let status = supervise(command, shown, bound, group, None)?.status;
    if !status.success() {
        bail!("`{shown}` failed ({})", describe(&status));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout without the final newline; a failure carries
/// what it said on stderr.
pub fn read(sh: &Shell, cmd: &Invocation) -> Result<String> {
    let out = output(sh, cmd)?;
    check(cmd, &out, &secret(cmd)?)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout.trim_end_matches(['\n', '\r']).to_string())
}

/// Runs `cmd` quietly and returns how it ended, whatever its exit code: for the callers that
/// read the code or the output themselves ([`timed_out`], `git push --porcelain`). A command
/// stopped because xtask was interrupted is an error.
pub fn output(sh: &Shell, cmd: &Invocation) -> Result<Output> {
    let secret = secret(cmd)?;
    let stdin = (!secret.is_empty()).then_some(secret.as_bytes());
    captured(
        command_of(sh, cmd),
        &cmd.to_string(),
        cmd.timeout_secs,
        Group::from_bound(cmd),
        stdin,
    )
}

/// [`output`] for a question asked on stdin: a credential helper reads the server name there.
/// `input` is no secret, but the answer may be one; like every captured output it is shown
/// nowhere.
pub fn output_with_input(sh: &Shell, cmd: &Invocation, input: &str) -> Result<Output> {
    debug_assert!(cmd.stdin_from.is_none(), "one stdin: {cmd}");
    captured(
        command_of(sh, cmd),
        &cmd.to_string(),
        cmd.timeout_secs,
        Group::from_bound(cmd),
        Some(input.as_bytes()),
    )
}

/// Runs a question written as an `xshell::cmd!` line (git's local reads) quietly and returns
/// how it ended, supervised like every other command.
pub fn ask(cmd: xshell::Cmd<'_>) -> Result<Output> {
    let shown = cmd.to_string();
    captured(cmd.into(), &shown, None, Group::Shared, None)
}

/// [`ask`], for a question that must succeed: its stdout, trimmed of the final newline.
pub fn ask_read(cmd: xshell::Cmd<'_>) -> Result<String> {
    let shown = cmd.to_string();
    let out = ask(cmd)?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        bail!(
            "`{shown}` failed ({}): {}",
            describe(&out.status),
            said.trim()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout.trim_end_matches(['\n', '\r']).to_string())
}

fn captured(
    mut command: Command,
    shown: &str,
    bound: Option<u64>,
    group: Group,
    stdin: Option<&[u8]>,
) -> Result<Output> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let ended = supervise(command, shown, bound, group, stdin)?;
    if let Some(interrupt) = ended.interrupted {
        bail!("`{shown}` was stopped: {interrupt}");
    }
    Ok(Output {
        status: ended.status,
        stdout: ended.stdout,
        stderr: ended.stderr,
    })
}

/// Whether a bounded command was stopped by `timeout`: 124 after SIGTERM, 137 (or no code)
/// after the SIGKILL of `--kill-after` or of xtask's own hard bound.
pub fn timed_out(out: &Output) -> bool {
    matches!(out.status.code(), Some(124 | 137) | None)
}

/// The process a `Invocation` becomes: one argv element per word, never a shell.
fn command_of(sh: &Shell, cmd: &Invocation) -> Command {
    let argv = cmd.argv();
    let (program, args) = argv.split_first().expect("a command has a program");
    let mut command = cmd!(sh, "{program} {args...}");
    for (name, value) in &cmd.env {
        command = command.env(name, value);
    }
    command.into()
}

/// The value the command reads on stdin, or "" when it reads none.
fn secret(cmd: &Invocation) -> Result<String> {
    let Some(var) = cmd.stdin_from else {
        return Ok(String::new());
    };
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => bail!("`{cmd}` reads {var} on stdin, but {var} is not set"),
    }
}

fn check(cmd: &Invocation, out: &Output, secret: &str) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = scrub(&String::from_utf8_lossy(&out.stderr), secret);
    let said = stderr.trim();
    if said.is_empty() {
        bail!("`{cmd}` failed ({})", describe(&out.status))
    }
    bail!("`{cmd}` failed ({}): {said}", describe(&out.status))
}

/// Tools do not echo passwords, but what they say is scrubbed anyway.
fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "***")
    }
}

fn describe(status: &ExitStatus) -> String {
    match status.code() {
        Some(124) => "timed out".to_string(),
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_string(),
    }
}

/// A signal that interrupted xtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupt {
    pub signal: i32,
}

impl Interrupt {
    pub fn name(self) -> &'static str {
        match self.signal {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }

    /// 130 for SIGINT, 143 for SIGTERM: what a shell reports for a process the signal ended.
    pub fn exit_code(self) -> u8 {
        u8::try_from(128 + self.signal).unwrap_or(1)
    }
}

impl std::fmt::Display for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.name())
    }
}

/// The signal that interrupted this run, if one did.
pub fn interrupted() -> Option<Interrupt> {
    supervisor()
        .lock()
        .signal
        .map(|signal| Interrupt { signal })
}

/// Runs `f` as a section whose ending the main thread decides: a signal stops the commands
/// `f` started, and `f` then finds out what they left ([`winding_down`]) and says so, instead
/// of the process exiting at once.
pub fn guarded<T>(f: impl FnOnce() -> T) -> T {
    supervisor().lock().guarded += 1;
    let result = f();
    supervisor().lock().guarded -= 1;
    result
}

/// Runs `f` with commands allowed after a signal: the questions that find out what an
/// interrupted step left. A further signal stops them too.
pub fn winding_down<T>(f: impl FnOnce() -> T) -> T {
    WINDING_DOWN.with(|w| w.set(true));
    let result = f();
    WINDING_DOWN.with(|w| w.set(false));
    result
}

thread_local! {
    static WINDING_DOWN: Cell<bool> = const { Cell::new(false) };
}

/// The last thing `main` does: waits until everything xtask started has stopped
/// ([`settle`]), then gives the process's exit code: 128 + the signal after an interrupt,
/// else `code` (0 done, 1 refused or failed, 2 a usage error).
pub fn exit(code: u8) -> ExitCode {
    settle();
    match interrupted() {
        Some(interrupt) => ExitCode::from(interrupt.exit_code()),
        None => ExitCode::from(code),
    }
}

/// Whether a child shares xtask's process group (and so gets the terminal's signals itself)
/// or has one of its own, which xtask signals as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Quick local commands, and those that may need the terminal: a process outside the
    /// terminal's foreground group is stopped when it reads from it, and `git tag` may run
    /// gpg, which asks for a passphrase there.
    Shared,
    /// Bounded commands (`timeout` makes a group of its own anyway; making it at spawn time
    /// leaves no moment in which the group does not exist yet), builds, rehearsal stages and
    /// background helpers.
    Own,
}

impl Group {
    fn from_bound(cmd: &Invocation) -> Group {
        if cmd.timeout_secs.is_some() {
            Group::Own
        } else {
            Group::Shared
        }
    }
}

/// How a supervised command ended.
struct Ended {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// Set when xtask stopped the command because it was interrupted.
    interrupted: Option<Interrupt>,
}

/// Spawns `command`, registered so that a signal stops it, and waits for it: for a bounded
/// command at most its bound, then `timeout`'s SIGKILL delay, then [`GRACE`], after which its
/// group is killed. Captured output is read on threads and given up on [`GRACE`] after the
/// command ended, so that a process that inherited the pipes cannot hold xtask.
fn supervise(
    mut command: Command,
    shown: &str,
    bound: Option<u64>,
    group: Group,
    stdin: Option<&[u8]>,
) -> Result<Ended> {
    if group == Group::Own {
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
    }
    let (mut child, running) = spawn(&mut command, shown, group)?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // Short secrets fit in the pipe's buffer; a thread would only matter for megabytes.
        // A command that ended without reading says why in its exit code, not here; the
        // pipe closes at the end of this block, so that the command sees the end of input.
        let _ = pipe.write_all(bytes);
    }
    let stdout = child.stdout.take().map(Collector::start);
    let stderr = child.stderr.take().map(Collector::start);

    let (sender, ended) = mpsc::channel();
    let waiter = running.clone();
    std::thread::spawn(move || {
        let status = child.wait();
        waiter.finish();
        let _ = sender.send(status);
    });
    let status = match bound {
        None => ended.recv().context("lost the process")?,
        Some(secs) => {
            let hard = Duration::from_secs(secs + KILL_AFTER_SECS) + GRACE;
            match ended.recv_timeout(hard) {
                Ok(status) => status,
                Err(_) => {
                    // `timeout` should have ended it by now: end the whole group.
                    running.stopped.store(true, Ordering::SeqCst);
                    signal(&running, "KILL");
                    ended
                        .recv_timeout(GRACE)
                        .with_context(|| format!("`{shown}` did not end after SIGKILL"))?
                }
            }
        }
    }
    .with_context(|| format!("cannot wait for `{shown}`"))?;

    let deadline = Instant::now() + GRACE;
    let stdout = stdout.map(|c| c.finish(deadline)).unwrap_or_default();
    let stderr = stderr.map(|c| c.finish(deadline)).unwrap_or_default();
    let stopped_by_signal = running.stopped.load(Ordering::SeqCst) && interrupted().is_some();
    Ok(Ended {
        status,
        stdout,
        stderr,
        interrupted: if stopped_by_signal {
            interrupted()
        } else {
            None
        },
    })
}

/// Spawns `command` and registers it, in one step under the supervisor's lock, so that a
/// signal either sees the child or prevents it from starting.
fn spawn(command: &mut Command, shown: &str, group: Group) -> Result<(Child, Arc<Running>)> {
    let mut state = supervisor().lock();
    if let Some(signal) = state.signal
        && (!WINDING_DOWN.with(Cell::get) || state.exiting)
    {
        bail!("`{shown}` was not started: {}", Interrupt { signal });
    }
    if state.exiting {
        bail!("`{shown}` was not started: xtask is exiting");
    }
    let child = command
        .spawn()
        .with_context(|| format!("cannot run `{shown}`"))?;
    let running = Arc::new(Running {
        pid: child.id(),
        name: program_name(command),
        group,
        stopped: AtomicBool::new(false),
        done: AtomicBool::new(false),
    });
    state.running.push(running.clone());
    Ok((child, running))
}

/// What a person calls a command: its program's file name, past `timeout` and its options
/// (`git`, `docker-registry`, `xtask`).
fn program_name(command: &Command) -> String {
    let base = |word: &std::ffi::OsStr| {
        Path::new(word)
            .file_name()
            .unwrap_or(word)
            .to_string_lossy()
            .into_owned()
    };
    let program = base(command.get_program());
    if program != "timeout" {
        return program;
    }
    // `timeout --kill-after=5 SECS program …`: the program is the first word past the bound.
    command
        .get_args()
        .filter(|a| !a.to_string_lossy().starts_with('-'))
        .nth(1)
        .map_or(program, base)
}

/// One child xtask started and has not reaped yet.
struct Running {
    pid: u32,
    /// Its program, for the line that says what an interrupt stops.
    name: String,
    group: Group,
    /// Set when xtask signalled it (an interrupt or the hard bound).
    stopped: AtomicBool,
    done: AtomicBool,
}

impl Running {
    /// Unregisters the reaped child. A stopped command's group is killed once more: what
    /// ignored SIGTERM (a hook's child) must not outlive it. SIGKILL takes effect when the
    /// kernel next runs the process, which on a loaded machine is after `kill` returned, so
    /// the group is waited for (at most [`GRACE`]) before anyone hears that it ended.
    fn finish(self: &Arc<Running>) {
        if self.group == Group::Own && self.stopped.load(Ordering::SeqCst) {
            signal(self, "KILL");
            let deadline = Instant::now() + GRACE;
            while group_runs(self.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let mut state = supervisor().lock();
        self.done.store(true, Ordering::SeqCst);
        state.running.retain(|r| !Arc::ptr_eq(r, self));
        supervisor().changed.notify_all();
    }
}

/// Sends `sig` (`TERM`, `KILL`) to the child, or to its whole group when it has its own, with
/// the `kill` program: std has no safe way to signal a group.
fn signal(running: &Running, sig: &str) {
    let target = match running.group {
        Group::Own => format!("-{}", running.pid),
        Group::Shared => running.pid.to_string(),
    };
    if running.group == Group::Shared && running.done.load(Ordering::SeqCst) {
        return; // reaped: the pid may belong to another process by now
    }
    // Past `settle` the process is exiting: a `kill` started now would outlive it.
    let Some(_busy) = Busy::enter() else { return };
    let sent = Command::new("kill")
        .args(["-s", sig, "--", &target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if sent.is_err() {
        eprintln!(
            "warning: cannot stop process {} ({}): {}",
            running.pid,
            sig,
            crate::tools::missing("kill")
        );
    }
}

/// Whether a process of the group `pgid` still runs. Zombies run nothing and do not count:
/// they wait for their parent, or for init, to collect their exit status.
#[cfg(target_os = "linux")]
fn group_runs(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    let pgid = pgid.to_string();
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false; // not a process, or gone meanwhile
        };
        // `pid (comm) state ppid pgrp …`, and comm may hold anything, `)` included.
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace();
        let (state, _ppid, group) = (fields.next(), fields.next(), fields.next());
        state != Some("Z") && group == Some(pgid.as_str())
    })
}

/// Whether a process of the group `pgid` still runs (zombies count here: without `/proc`
/// there is no portable way to tell them apart).
#[cfg(not(target_os = "linux"))]
fn group_runs(pgid: u32) -> bool {
    let Some(_busy) = Busy::enter() else {
        return false;
    };
    Command::new("kill")
        .args(["-s", "0", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Reads a pipe to its end on a thread of its own; what it read so far can be taken at any
/// time.
struct Collector {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Collector {
    fn start(mut pipe: impl Read + Send + 'static) -> Collector {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (sender, done) = mpsc::channel();
        let sink = bytes.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => sink
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&buffer[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = sender.send(());
        });
        Collector { bytes, done }
    }

    /// What was read by the end of the pipe, or by `deadline` if something else still holds
    /// the pipe open.
    fn finish(self, deadline: Instant) -> Vec<u8> {
        let _ = self
            .done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
        std::mem::take(&mut *self.bytes.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A long-running helper (the rehearsal's registry), stopped when dropped and by a signal.
pub struct Background {
    child: Option<Child>,
    running: Arc<Running>,
    shown: String,
}

impl Background {
    /// Starts `command` in a process group of its own, its output going where `command` says.
    pub fn start(mut command: Command, shown: &str) -> Result<Background> {
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command.stdin(Stdio::null());
        let (child, running) = spawn(&mut command, shown, Group::Own)?;
        Ok(Background {
            child: Some(child),
            running,
            shown: shown.to_string(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.running.pid
    }

    /// How it ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Leaves it running after xtask exits (`rehearse --keep`).
    pub fn leave_running(mut self) {
        self.child = None;
        let mut state = supervisor().lock();
        state.running.retain(|r| !Arc::ptr_eq(r, &self.running));
    }

    /// Stops its group (SIGTERM, then SIGKILL after [`KILL_AFTER_SECS`]) and reaps it.
    pub fn stop(mut self) -> Result<()> {
        self.stop_now()
    }

    fn stop_now(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        self.running.stopped.store(true, Ordering::SeqCst);
        signal(&self.running, "TERM");
        let deadline = Instant::now() + Duration::from_secs(KILL_AFTER_SECS);
        let mut status = child.try_wait()?;
        while status.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            status = child.try_wait()?;
        }
        if status.is_none() {
            signal(&self.running, "KILL");
            child
                .wait()
                .with_context(|| format!("cannot stop `{}`", self.shown))?;
        }
        self.running.finish();
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.stop_now();
    }
}

/// What the signal thread and the spawning threads share.
#[derive(Default)]
struct State {
    /// The first signal: the one the exit code reports.
    signal: Option<i32>,
    running: Vec<Arc<Running>>,
    /// Depth of [`guarded`] sections: while positive, the main thread ends the run.
    guarded: usize,
    /// Signal handlers and `kill`s under way ([`Busy`]): the process does not exit in their
    /// middle, or a `kill` outlives it, and with it a child it had yet to stop.
    busy: usize,
    /// Set by [`settle`]: the process is exiting, and starts nothing more, not even a `kill`.
    exiting: bool,
}

struct Supervisor {
    state: Mutex<State>,
    /// Notified when `busy` drops or a child is reaped.
    changed: Condvar,
}

impl Supervisor {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The supervisor, with its signal thread started on first use.
fn supervisor() -> &'static Supervisor {
    static SUPERVISOR: OnceLock<Supervisor> = OnceLock::new();
    static STARTED: OnceLock<()> = OnceLock::new();
    let supervisor = SUPERVISOR.get_or_init(|| Supervisor {
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    });
    STARTED.get_or_init(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    for signal in signals.forever() {
                        on_signal(signal);
                    }
                });
            }
            Err(e) => eprintln!("warning: cannot catch SIGINT and SIGTERM ({e}): an interrupt may leave commands running"),
        }
    });
    supervisor
}

/// A signal handler or a `kill` under way: while one is, [`settle`] waits.
struct Busy;

impl Busy {
    /// `None` once the process is exiting.
    fn enter() -> Option<Busy> {
        let mut state = supervisor().lock();
        if state.exiting {
            return None;
        }
        state.busy += 1;
        Some(Busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        supervisor().lock().busy -= 1;
        supervisor().changed.notify_all();
    }
}

/// Before the process exits, from whichever thread ends it: waits for the signal handlers
/// and `kill`s under way, and after an interrupt for every child it stopped (SIGKILL for what
/// is left after [`KILL_AFTER_SECS`] and [`GRACE`]); then starts nothing more. Without this,
/// `main` could return while the signal thread was still stopping the children, and one
/// would outlive xtask.
fn settle() {
    let supervisor = supervisor();
    let deadline = Instant::now() + Duration::from_secs(KILL_AFTER_SECS) + GRACE;
    let waiting =
        |state: &State| state.busy > 0 || (state.signal.is_some() && !state.running.is_empty());
    let mut state = supervisor.lock();
    while waiting(&state) && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        state = supervisor
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    let left: Vec<Arc<Running>> = match state.signal {
        Some(_) => state.running.clone(),
        None => Vec::new(),
    };
    drop(state);
    for running in &left {
        signal(running, "KILL");
    }
    let mut state = supervisor.lock();
    let deadline = Instant::now() + GRACE;
    while state.busy > 0 && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        state = supervisor
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    state.exiting = true;
}

/// On the signal thread: stop every running child's group (SIGTERM, then SIGKILL for what is
/// left after [`KILL_AFTER_SECS`]); outside a [`guarded`] section, wait for them and exit.
fn on_signal(signal: i32) {
    let (first, stopping, guarded, busy) = {
        let mut state = supervisor().lock();
        if state.exiting {
            return; // `settle` has stopped everything; the process is on its way out
        }
        state.busy += 1;
        let first = *state.signal.get_or_insert(signal);
        let stopping: Vec<Arc<Running>> = state.running.clone();
        for running in &stopping {
            running.stopped.store(true, Ordering::SeqCst);
        }
        (
            Interrupt { signal: first },
            stopping,
            state.guarded > 0,
            Busy,
        )
    };
    let names: Vec<&str> = stopping.iter().map(|r| r.name.as_str()).collect();
    let what = match names.len() {
        0 => String::new(),
        1 => format!(": stopping the command it started ({})", names[0]),
        n => format!(
            ": stopping the {n} commands it started ({})",
            names.join(", ")
        ),
    };
    if !parent_announces_interrupts() {
        eprintln!("\nxtask {}{what}", Interrupt { signal });
    }
    for running in &stopping {
        self::signal(running, "TERM");
    }
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(KILL_AFTER_SECS));
        for running in stopping.iter().filter(|r| !r.done.load(Ordering::SeqCst)) {
            self::signal(running, "KILL");
        }
    });
    drop(busy);
    if guarded {
        return;
    }
    // Nothing is left to decide: once the children are gone, exit.
    settle();
    std::process::exit(i32::from(first.exit_code()));
}
