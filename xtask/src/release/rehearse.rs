//! `release rehearse`: the whole release, stage by stage, changing nothing real.
//!
//! A throwaway clone of HEAD gets a temporary bare repository as its remote, and this very
//! binary runs each stage in it (`tag` → `publish` → `verify` → `promote` → `github
//! --dry-run` → `verify`) against the registries named by `RELEASE_IMAGE` and
//! `RELEASE_CHART_REGISTRY`, or, with `--local-registry`, against a throwaway registry it
//! starts on 127.0.0.1 for the rehearsal and stops at its end. Running the stages as
//! separate processes, exactly as people and CI run them, is the point: a rehearsal that
//! called functions directly could pass where the commands fail.
//!
//! Each stage says one line, with its time; what it printed goes to a log in the scratch
//! directory, and is shown in full when the stage fails (`-v` shows it as it runs). No stage
//! reaches GitHub: gh's configuration points at a socket nobody listens on, and the
//! repository the stages name is the rehearsal's own, never the real one.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::cli::RehearseArgs;
use crate::exec::{self, Background};
use crate::invocation::Invocation;
use crate::scratch::Scratch;
use crate::tag::grammar::{self, version_tag};
use crate::tools;
use crate::{project::Project, tag::git_io, ui};

pub fn run(sh: &Shell, project: &Project, args: RehearseArgs) -> Result<()> {
    let version = args.version;
    let config = &project.config;

    // STEP 1: refuse to touch the real registries: publish to a throwaway one, or to the
    // scratch registries the environment names.
    if args.local_registry {
        if let Some(missing) = crate::project::missing_tools(&tools::LOCAL_REGISTRY).first() {
            bail!(
                "--local-registry starts Debian's docker-registry, and {}",
                tools::missing(missing)
            );
        }
    } else {
        let mut problems = Vec::new();
        for var in ["RELEASE_IMAGE", "RELEASE_CHART_REGISTRY"] {
            if std::env::var(var).map_or(true, |v| v.is_empty()) {
                problems.push(format!("{var} is not set"));
            }
        }
        if !problems.is_empty() {
            bail!(
                "a rehearsal publishes to scratch registries only: {}; run it with --local-registry to start a throwaway registry on 127.0.0.1, or point them at a registry of your own, for example \
                 RELEASE_IMAGE=127.0.0.1:5000/llm-proxy RELEASE_CHART_REGISTRY=oci://127.0.0.1:5000/charts RELEASE_PLAIN_HTTP=1",
                problems.join(", ")
            );
        }
    }

    // STEP 2: the stages, each one `cargo xtask …` as people and CI run it.
    let v = version.to_string();
    let tag_name = version_tag(&version);
    let stable = grammar::stable_tag(&version);
    let mut stages: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "tag",
            vec!["release", "tag", &v, "--yes", "--no-checks"],
            "the preflight checks refused: read them above",
        ),
        (
            "publish",
            vec!["release", "publish", &tag_name],
            "fix the failing publish step; a re-run completes what is missing",
        ),
        (
            "verify",
            vec!["release", "verify", &v, "--artifacts-only"],
            "the published artifacts are not consistent",
        ),
        (
            "promote",
            vec!["release", "promote", &v, "--yes"],
            "promotion refused: read the failing checks above",
        ),
        (
            "github --dry-run",
            vec!["release", "github", &stable, "--dry-run"],
            "the GitHub release plan failed",
        ),
        (
            "verify after promotion",
            vec!["release", "verify", &v, "--artifacts-only"],
            "the stable tag or the artifacts are not consistent",
        ),
    ];
    // Provenance, as CI attests it, where the offline stand-ins are installed: the gate of
    // the later stages then checks it as it does after a real release. Elsewhere it is left
    // out, and the rehearsal says so.
    let attests = crate::verify::provenance_io::harness_installed(sh, project);
    if attests {
        stages.insert(
            2,
            (
                "attest (offline, as CI)",
                vec!["release", "attest-offline", &v],
                "the offline attestation failed: read its error above",
            ),
        );
    } else {
        ui::note(
            "provenance is not rehearsed: the offline signing harness is not installed (scripts/install-test-tools.sh); the stages run with RELEASE_PROVENANCE=0",
        );
    }
    let image_name = config.image.rsplit('/').next().unwrap_or("llm-proxy");
    if args.dry_run {
        println!(
            "rehearsal of {tag_name}: a scratch clone of HEAD ({}) with a scratch bare repository as {}, against:",
            git_io::head(sh)?,
            config.remote
        );
        if args.local_registry {
            println!(
                "  a throwaway registry: docker-registry serve <scratch>/registry/config.yml, on 127.0.0.1:<a free port>, its storage in the scratch directory"
            );
            println!("  image: 127.0.0.1:<port>/{image_name}");
            println!("  chart registry: oci://127.0.0.1:<port>/charts");
            for (name, value) in LocalRegistry::fixed_env() {
                println!("  {name}={value}");
            }
        } else {
            println!("  image: {}", config.image);
            println!("  chart registry: {}", config.chart_registry);
        }
        println!(
            "  GitHub: none; the stages name the repository {}, and gh's configuration (<scratch>/gh) points at a socket nobody listens on",
            rehearsal_repo(&config.github_repo)
        );
        println!("stages, each run as `xtask -C <scratch clone> …`:");
        for (i, (name, stage_args, _)) in stages.iter().enumerate() {
            println!("  {}. {name}: xtask {}", i + 1, stage_args.join(" "));
        }
        println!("dry run: nothing was run");
        return Ok(());
    }

    // STEP 3: a scratch clone of HEAD on the default branch, with a bare remote of its own.
    let head = git_io::head(sh)?;
    let mut scratch = Scratch::new("rehearse")?;
    if args.keep {
        scratch.keep();
    }
    let remote = scratch.path().join("remote.git");
    let work = scratch.path().join("work");
    ui::one_line_step("prepare a scratch clone with a bare remote", || {
        let (remote_name, branch) = (&config.remote, &config.default_branch);
        exec::ask_read(cmd!(sh, "git init --quiet --bare {remote}"))?;
        exec::ask_read(cmd!(sh, "git init --quiet {work}"))?;
        let root = &project.root;
        let sh = sh.clone();
        sh.change_dir(&work);
        exec::ask_read(cmd!(sh, "git fetch --quiet --no-tags {root} {head}"))?;
        exec::ask_read(cmd!(sh, "git checkout --quiet -b {branch} {head}"))?;
        exec::ask_read(cmd!(sh, "git remote add {remote_name} {remote}"))?;
        exec::ask_read(cmd!(
            sh,
            "git push --quiet --set-upstream {remote_name} {branch}"
        ))?;
        Ok(())
    })?;

    // From here on an interrupt stops the stage and the registry, and the rehearsal says so.
    exec::guarded(|| {
        // STEP 4: the throwaway registry, when asked for.
        let registry = if args.local_registry {
            let dir = scratch.dir("registry")?;
            Some(ui::one_line_step(
                "start a throwaway registry on 127.0.0.1",
                || LocalRegistry::start(&dir),
            )?)
        } else {
            None
        };
        let registry_env = registry
            .as_ref()
            .map(|r| r.env(image_name))
            .unwrap_or_default();
        if let Some(registry) = &registry {
            println!(
                "rehearsing against a throwaway registry at {} (docker-registry, pid {})",
                registry.host,
                registry.process.pid()
            );
        }

        // STEP 5: the stages, each a process of its own.
        let exe = std::env::current_exe().context("cannot find the running xtask binary")?;
        // The scratch clone builds with this repository's target directory: the rehearsal
        // then costs what an incremental build costs, not a cold one.
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| project.root.join("target"));
        // Provenance is checked against the stand-in authorities of the attest stage, whose
        // trusted root stays in the scratch directory.
        let trusted_root = scratch.path().join("trusted-root.jsonl");
        let mut stage_env = registry_env;
        stage_env.push((
            "RELEASE_PROVENANCE",
            if attests { "1" } else { "0" }.to_string(),
        ));
        if attests {
            stage_env.push(("RELEASE_TRUSTED_ROOT", trusted_root.display().to_string()));
        }
        stage_env.extend(no_github(&scratch, &config.github_repo)?);
        let logs = scratch.dir("logs")?;
        let verbose = ui::level() == ui::Level::Verbose;
        let mut timings: Vec<(&str, Duration)> = Vec::new();
        let mut failure = None;
        for (i, (name, stage_args, next)) in stages.iter().enumerate() {
            let start = Instant::now();
            let mut stage = Invocation::new(
                &exe.display().to_string(),
                ["-C".to_string(), work.display().to_string()]
                    .into_iter()
                    .chain(stage_args.iter().map(|a| a.to_string())),
            )
            .env("CARGO_TARGET_DIR", &target_dir.display().to_string());
            for (var, value) in &stage_env {
                stage = stage.env(var, value);
            }
            let title = format!("rehearse: {name}");
            let log = logs.join(format!("{}-{}.log", i + 1, stage_args[1]));
            // A process group of its own: the stage, an xtask too, gets one signal, from here.
            let result = if verbose {
                ui::step(&title, || exec::run_apart(sh, &stage))
            } else {
                ui::one_line_step(&title, || run_logged(sh, &stage, &log))
            };
            timings.push((name, start.elapsed()));
            if let Err(e) = result {
                if !verbose && exec::interrupted().is_none() {
                    show_log(name, &log);
                }
                failure = Some((*name, *next, e));
                break;
            }
        }
        let outcome = match failure {
            None => {
                print_summary(&timings, None);
                println!(
                    "rehearsal of {tag_name} passed: tagged, published, verified, promoted to {stable}"
                );
                Ok(())
            }
            Some((name, next, e)) => {
                print_summary(&timings, Some(name));
                let kept = if args.keep {
                    format!("the scratch clone is kept at {}", scratch.path().display())
                } else {
                    "re-run with --keep to inspect the scratch clone".to_string()
                };
                match exec::interrupted() {
                    Some(interrupt) => Err(anyhow::anyhow!(
                        "rehearsal {interrupt} during `{name}`: the stage{} stopped, nothing real was changed; {}",
                        registry.as_ref().map_or(" was".into(), |r| format!(
                            " and the registry on {} were",
                            r.host
                        )),
                        if args.keep {
                            format!("the scratch clone is kept at {}", scratch.path().display())
                        } else {
                            "the scratch clone is removed".to_string()
                        }
                    )),
                    None => Err(anyhow::anyhow!(
                        "rehearsal failed at `{name}`: {next}; {kept} ({e})"
                    )),
                }
            }
        };

        // STEP 6: the registry goes with the rehearsal, unless kept (and never after Ctrl-C).
        let kept_registry = match registry {
            Some(registry) if args.keep && exec::interrupted().is_none() => {
                let (host, pid) = (registry.host.clone(), registry.process.pid());
                registry.process.leave_running();
                println!(
                    "the registry keeps running at {host} (pid {pid}), its storage in {}: stop it with `kill {pid}`",
                    scratch.path().join("registry").display()
                );
                true
            }
            Some(registry) => {
                registry
                    .process
                    .stop()
                    .context("cannot stop the throwaway registry")?;
                false
            }
            None => false,
        };
        if args.keep && exec::interrupted().is_none() {
            if outcome.is_ok() {
                println!("scratch clone kept at {}", scratch.path().display());
            }
            // What a person needs to look at the kept state with the same commands.
            println!(
                "to run verify against {}, set what the stages ran with:",
                if kept_registry {
                    "the kept registry"
                } else {
                    "the rehearsed release"
                }
            );
            for (name, value) in &stage_env {
                println!("export {name}={}", shell_word(value));
            }
            println!(
                "cargo xtask -C {} release verify {version} --artifacts-only",
                shell_word(&work.display().to_string())
            );
        }
        outcome
    })
}

/// Debian's `docker-registry` (CNCF distribution 2.8) with a configuration of its own: on a
/// free port of 127.0.0.1 only, storage in the scratch directory, deletes allowed (a
/// rehearsal may be re-run against it), no authentication. Debian's packaged configuration
/// is unusable for this: it listens on every interface and asks for htpasswd credentials
/// from a path that is a directory.
struct LocalRegistry {
    process: Background,
    /// `127.0.0.1:PORT`.
    host: String,
}

impl LocalRegistry {
    fn start(dir: &Path) -> Result<LocalRegistry> {
        // A free port is found by binding port 0 and letting go of it; another program can
        // take it meanwhile, so a registry that cannot listen gets another port.
        let mut last_error = None;
        for _ in 0..3 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|l| l.local_addr())
                .context("cannot find a free port on 127.0.0.1")?
                .port();
            match LocalRegistry::start_on(dir, port) {
                Ok(registry) => return Ok(registry),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("three attempts"))
    }

    fn start_on(dir: &Path, port: u16) -> Result<LocalRegistry> {
        let host = format!("127.0.0.1:{port}");
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                dir.join("data").display()
            ),
        )
        .with_context(|| format!("cannot write {}", config.display()))?;
        let log_path = dir.join("registry.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut command = Command::new("docker-registry");
        // The registry reads every `REGISTRY_*` variable as a configuration override, and
        // users of the containers tools often have one (REGISTRY_AUTH_FILE): this registry
        // runs on its own configuration alone.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("REGISTRY_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log);
        let shown = format!("docker-registry serve {}", config.display());
        let mut process = Background::start(command, &shown)?;
        let start = Instant::now();
        loop {
            if let Some(status) = process.exited() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let said = log
                    .lines()
                    .find(|l| l.contains("level=fatal") || l.contains("rror"))
                    .or_else(|| log.lines().next())
                    .unwrap_or("it said nothing");
                bail!(
                    "docker-registry exited ({status}) before it listened on {host}: {}",
                    crate::quote::quote(said)
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(LocalRegistry { process, host });
            }
            if start.elapsed() > Duration::from_secs(20) {
                bail!(
                    "docker-registry did not listen on {host} within 20s: its log is {}",
                    log_path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What every stage runs with besides the registry's address.
    fn fixed_env() -> Vec<(&'static str, String)> {
        let mut env = vec![("RELEASE_PLAIN_HTTP", "1".to_string())];
        // docker buildx builds in a container that cannot reach the host's 127.0.0.1;
        // buildah pushes from this very process. An explicit choice is kept.
        if std::env::var_os("RELEASE_IMAGE_BUILDER").is_none() {
            env.push(("RELEASE_IMAGE_BUILDER", "buildah".to_string()));
        }
        env
    }

    /// The settings that point a release at this registry, replacing any in the environment.
    fn env(&self, image_name: &str) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("RELEASE_IMAGE", format!("{}/{image_name}", self.host)),
            (
                "RELEASE_CHART_REGISTRY",
                format!("oci://{}/charts", self.host),
            ),
        ];
        env.extend(LocalRegistry::fixed_env());
        env
    }
}

fn print_summary(timings: &[(&str, Duration)], failed: Option<&str>) {
    for (name, elapsed) in timings {
        let mark = if Some(*name) == failed { "✗" } else { "✓" };
        println!("{mark} {name:<24} {:>6.1}s", elapsed.as_secs_f64());
    }
    let total: Duration = timings.iter().map(|(_, d)| *d).sum();
    println!("  {:<24} {:>6.1}s", "total", total.as_secs_f64());
}

/// Runs one stage with its output in `log`, and says how it ended. Supervised as every
/// command is (`exec::Background`: a process group of its own, stopped on a signal), but
/// waited for here, so that its output goes to a file rather than to the terminal.
fn run_logged(sh: &Shell, stage: &Invocation, log: &Path) -> Result<()> {
    let file =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let argv = stage.argv();
    let (program, args) = argv.split_first().expect("a command has a program");
    let mut command: Command = cmd!(sh, "{program} {args...}").into();
    command
        .envs(stage.env.iter().map(|(k, v)| (k, v)))
        .stdout(file.try_clone()?)
        .stderr(file);
    let shown = stage.to_string();
    let mut process = Background::start(command, &shown)?;
    let status: ExitStatus = loop {
        if let Some(status) = process.exited() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The stage has ended; whatever it left running in its group goes with it.
    process
        .stop()
        .with_context(|| format!("cannot stop what `{shown}` left running"))?;
    if let Some(interrupt) = exec::interrupted() {
        bail!("`{shown}` was stopped: {interrupt}");
    }
    if !status.success() {
        bail!(
            "`{}` failed ({status}): its output is above",
            argv[3..].join(" ")
        );
    }
    Ok(())
}

/// The whole output of a stage that failed, on stderr (also with `-q`: it is the error).
fn show_log(name: &str, log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| format!("(cannot read it: {e})\n"));
    eprintln!("---- output of `{name}` ----");
    eprint!("{text}");
    if !text.is_empty() && !text.ends_with('\n') {
        eprintln!();
    }
    eprintln!("---- end of the output of `{name}` ----");
}

/// The settings that keep every stage, and a `verify` run against the kept state, away from
/// GitHub: the stages name a repository of the rehearsal's own (`rehearsal/NAME`), so that
/// nothing could match a real release, and gh gets a configuration of its own whose
/// `http_unix_socket` is a socket nobody listens on, so that it cannot reach GitHub at all
/// (`gh attestation verify` reads the registry and the stand-in trusted root only).
fn no_github(scratch: &Scratch, github_repo: &str) -> Result<Vec<(&'static str, String)>> {
    let dir = scratch.dir("gh")?;
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "http_unix_socket: {}\n",
            dir.join("no-github.sock").display()
        ),
    )
    .with_context(|| format!("cannot write {}", config.display()))?;
    Ok(vec![
        ("RELEASE_GITHUB_REPO", rehearsal_repo(github_repo)),
        ("GH_CONFIG_DIR", dir.display().to_string()),
    ])
}

/// `rehearsal/NAME` for the configured `OWNER/NAME`.
fn rehearsal_repo(github_repo: &str) -> String {
    let name = github_repo.rsplit('/').next().unwrap_or("llm-proxy");
    format!("rehearsal/{name}")
}

/// `value` as one word of a POSIX shell line, for the `export` lines a person pastes: as it
/// is when it is plain, else single-quoted.
fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}
