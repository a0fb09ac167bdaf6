//! The workflows' rules, checked by `cargo test` whether or not zizmor and actionlint are
//! installed: only GitHub-owned actions, pinned by SHA, checkout on Node 24; least privilege;
//! write tokens only in the steps that write, after everything that compiles; one group per
//! tag; thin steps with no expression inside a script; every published artifact attested.
//!
//! Each rule is a function from one workflow to its problems, so that each can be shown to
//! fail: the `rejects_*` tests feed every rule a workflow that breaks it.

use std::path::Path;

use serde_yaml::Value;

struct Workflow {
    name: String,
    text: String,
    yaml: Value,
}

impl Workflow {
    fn parse(name: &str, text: &str) -> Workflow {
        Workflow {
            name: name.to_string(),
            text: text.to_string(),
            yaml: serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}")),
        }
    }

    fn jobs(&self) -> Vec<(String, &Value)> {
        self.yaml["jobs"]
            .as_mapping()
            .map(|jobs| {
                jobs.iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tag workflows publish: `on: push: tags:`.
    fn runs_on_tags(&self) -> bool {
        !self.yaml["on"]["push"]["tags"].is_null()
    }
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

fn workflows() -> Vec<Workflow> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let mut all: Vec<Workflow> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            Workflow::parse(&name, &std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

type Rule = fn(&Workflow) -> Vec<String>;

const RULES: &[(&str, Rule)] = &[
    ("least privilege", least_privilege),
    ("GitHub-owned actions, pinned", github_owned_pinned_actions),
    ("checkout on Node 24, no credentials", checkout_on_node24),
    ("tokens only where they write", tokens_only_where_they_write),
    ("one concurrency group per tag", per_tag_concurrency),
    ("thin steps", thin_steps),
    ("bounded jobs", bounded_jobs),
    (
        "chart jobs use the pinned helm",
        chart_jobs_use_the_pinned_helm,
    ),
    (
        "publishing jobs see every tag",
        publishing_jobs_fetch_every_tag,
    ),
    (
        "every published artifact attested",
        published_artifacts_attested,
    ),
];

#[test]
fn the_four_workflows_exist() {
    let names: Vec<String> = workflows().into_iter().map(|w| w.name).collect();
    assert_eq!(
        names,
        ["ci.yml", "docker.yml", "helm-publish.yml", "release.yml"]
    );
}

#[test]
fn every_workflow_holds_every_rule() {
    let mut problems = Vec::new();
    for workflow in workflows() {
        for (rule, check) in RULES {
            for problem in check(&workflow) {
                problems.push(format!("{} ({rule}): {problem}", workflow.name));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// --- least privilege ----------------------------------------------------------------------

/// The scopes a job may ask for, by workflow: reading the code everywhere, writing packages
/// only where images and charts are pushed, writing contents only for the GitHub release,
/// and an OIDC token and the attestations API only where what is pushed is attested.
const ALLOWED_PERMISSIONS: &[(&str, &str, &str)] = &[
    ("*", "contents", "read"),
    ("docker.yml", "packages", "write"),
    ("docker.yml", "id-token", "write"),
    ("docker.yml", "attestations", "write"),
    ("helm-publish.yml", "packages", "write"),
    ("helm-publish.yml", "id-token", "write"),
    ("helm-publish.yml", "attestations", "write"),
    ("release.yml", "contents", "write"),
    // The release gate reads the published image and chart before `gh release create`.
    ("release.yml", "packages", "read"),
];

/// Top-level `permissions: {}`; each job names its own, from the table above; and a job
/// that may write has a step that uses the token (a write scope nobody uses is only risk).
fn least_privilege(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    if w.yaml["permissions"] != Value::Mapping(Default::default()) {
        problems.push("top-level `permissions: {}` (each job asks for its own)".to_string());
    }
    for (job, body) in w.jobs() {
        let Some(permissions) = body["permissions"].as_mapping() else {
            problems.push(format!("job {job}: no `permissions:` of its own"));
            continue;
        };
        let mut writes = false;
        for (scope, level) in permissions {
            let (scope, level) = (
                scope.as_str().unwrap_or_default(),
                level.as_str().unwrap_or_default(),
            );
            writes |= level == "write";
            let allowed = ALLOWED_PERMISSIONS
                .iter()
                .any(|&(file, s, l)| (file == "*" || file == w.name) && s == scope && l == level);
            if !allowed {
                problems.push(format!(
                    "job {job}: `{scope}: {level}` is more than it needs"
                ));
            }
        }
        let uses_token = steps(body)
            .iter()
            .any(|s| !token_vars(&s["env"]).is_empty());
        if writes && !uses_token {
            problems.push(format!(
                "job {job}: asks to write, but no step is given the token"
            ));
        }
    }
    problems
}

// --- actions ------------------------------------------------------------------------------

/// Every `uses:` of the workflow (steps and reusable-workflow jobs), with the comment its
/// line carries (`# v7.0.1`), which YAML drops.
fn uses(w: &Workflow) -> Vec<(String, Option<String>)> {
    let mut all = Vec::new();
    for (_, job) in w.jobs() {
        let job_uses = job["uses"].as_str().into_iter();
        let step_uses = steps(job).iter().filter_map(|s| s["uses"].as_str());
        for spec in job_uses.chain(step_uses) {
            let comment = w
                .text
                .lines()
                .find(|l| {
                    l.split('#')
                        .next()
                        .unwrap_or_default()
                        .trim_end()
                        .ends_with(spec)
                })
                .and_then(|l| l.split_once('#'))
                .map(|(_, c)| c.trim().to_string());
            all.push((spec.to_string(), comment));
        }
    }
    all
}

/// `vX.Y.Z` → X.
fn major(version_comment: &str) -> Option<u64> {
    let version = version_comment.strip_prefix('v')?;
    let valid = version
        .split('.')
        .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if !valid {
        return None;
    }
    version.split('.').next()?.parse().ok()
}

/// Only GitHub-owned actions (organisations may allow nothing else), each pinned to a full
/// commit SHA with its version in a comment, so that a moved tag changes nothing.
fn github_owned_pinned_actions(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (spec, comment) in uses(w) {
        if !spec.starts_with("actions/") {
            problems.push(format!("{spec}: only GitHub-owned actions (`actions/*`)"));
        }
        let sha = spec.rsplit_once('@').map(|(_, r)| r).unwrap_or_default();
        if !(sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit())) {
            problems.push(format!("{spec}: pin a full 40-hex commit SHA"));
        }
        if comment.as_deref().and_then(major).is_none() {
            problems.push(format!(
                "{spec}: needs its version in a comment (`# vX.Y.Z`)"
            ));
        }
    }
    problems
}

/// `actions/checkout` v5 or later (Node 24; v4 runs on Node 20, which GitHub retires), and
/// no credentials left in `.git/config` for later steps.
fn checkout_on_node24(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (spec, comment) in uses(w) {
        if spec.starts_with("actions/checkout@")
            && comment.as_deref().and_then(major).is_none_or(|m| m < 5)
        {
            problems.push(format!(
                "{spec} ({}): actions/checkout v5 or later (Node 24)",
                comment.as_deref().unwrap_or("no version comment")
            ));
        }
    }
    for (job, body) in w.jobs() {
        for step in steps(body) {
            let is_checkout = step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"));
            if is_checkout && step["with"]["persist-credentials"].as_bool() != Some(false) {
                problems.push(format!(
                    "job {job}: checkout with `persist-credentials: false`"
                ));
            }
        }
    }
    problems
}

// --- write tokens -------------------------------------------------------------------------

/// The variables of an `env:` mapping that carry a token: any secret or `github.token`, or a
/// name that says token or password.
fn token_vars(env: &Value) -> Vec<String> {
    let Some(env) = env.as_mapping() else {
        return Vec::new();
    };
    env.iter()
        .filter(|(k, v)| {
            let key = k.as_str().unwrap_or_default();
            let value = v.as_str().unwrap_or_default();
            value.contains("secrets.")
                || value.contains("github.token")
                || key.ends_with("TOKEN")
                || key.ends_with("PASSWORD")
        })
        .map(|(k, _)| k.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Whether a command compiles code or runs tests: dependencies' build scripts and proc
/// macros, and the whole test suite, run inside it. `release github` and `release tag` run
/// the project's checks unless told `--no-checks`; `publish --no-push` builds the binaries.
fn compiles(run: &str) -> bool {
    const COMPILING: &[&str] = &[
        "cargo build",
        "cargo test",
        "cargo run",
        "cargo check",
        "cargo clippy",
        "cargo xtask ci",
        "cargo xtask dist",
        ".ci/run",
    ];
    let runs_checks = (run.contains("cargo xtask release github")
        || run.contains("cargo xtask release tag"))
        && !run.contains("--no-checks");
    let builds = run.contains("cargo xtask release publish") && run.contains("--no-push");
    COMPILING.iter().any(|c| run.contains(c)) || runs_checks || builds
}

/// A write token lives only in the `env:` of the one step that pushes or creates the
/// release, never in a workflow's or job's `env:`, never beside a compile or the tests.
/// And that step compiles nothing by itself: xtask was built by an earlier step without
/// the token (`cargo xtask` is `cargo run`), and so were the binaries a publish pushes
/// (the same publish with `--no-push`).
fn tokens_only_where_they_write(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for var in token_vars(&w.yaml["env"]) {
        problems.push(format!(
            "workflow env {var}: a token only in the step that writes"
        ));
    }
    for (job, body) in w.jobs() {
        for var in token_vars(&body["env"]) {
            problems.push(format!(
                "job {job}: env {var}: a token only in the step that writes"
            ));
        }
        let steps = steps(body);
        for (i, step) in steps.iter().enumerate() {
            let tokens = token_vars(&step["env"]);
            let run = step["run"].as_str().unwrap_or_default();
            if tokens.is_empty() || run.is_empty() {
                continue;
            }
            let name = step["name"].as_str().unwrap_or(run);
            if compiles(run) {
                problems.push(format!(
                    "job {job}, step {name:?}: compiles or tests with {} in its env",
                    tokens.join(", ")
                ));
            }
            let before = &steps[..i];
            let token_free = |wanted: &dyn Fn(&str) -> bool| {
                before.iter().any(|s| {
                    token_vars(&s["env"]).is_empty() && s["run"].as_str().is_some_and(wanted)
                })
            };
            if run.starts_with("cargo xtask ")
                && !token_free(&|r| r == "cargo build --package xtask --locked")
            {
                problems.push(format!(
                    "job {job}, step {name:?}: build xtask first, without the token (`cargo build --package xtask --locked`)"
                ));
            }
            if run.starts_with("cargo xtask release publish ") {
                let command = run.split(" # ").next().unwrap_or(run).trim();
                let dry = format!("{command} --no-push");
                if !token_free(&|r| r.split(" # ").next().unwrap_or(r).trim() == dry) {
                    problems.push(format!(
                        "job {job}, step {name:?}: build first, without the token (`{dry}`)"
                    ));
                }
            }
        }
    }
    problems
}

// --- concurrency --------------------------------------------------------------------------

/// One group per workflow and ref. A tag workflow is never cancelled half-way, and names
/// the workflow in its group: the tag workflows share a tag, and a third run queued in a
/// shared group would replace the pending second one.
fn per_tag_concurrency(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    let concurrency = &w.yaml["concurrency"];
    let group = concurrency["group"].as_str().unwrap_or_default();
    if !group.contains("${{ github.ref }}") {
        problems.push(format!(
            "concurrency group {group:?}: one group per ref (`${{{{ github.ref }}}}`)"
        ));
    }
    if w.runs_on_tags() {
        if !(group.starts_with("release-") && group.contains("${{ github.workflow }}")) {
            problems.push(format!(
                "concurrency group {group:?}: `release-${{{{ github.workflow }}}}-${{{{ github.ref }}}}`"
            ));
        }
        if concurrency["cancel-in-progress"].as_bool() != Some(false) {
            problems.push("`cancel-in-progress: false`: never cancel a publish half-way".into());
        }
    }
    problems
}

// --- steps and jobs -----------------------------------------------------------------------

/// Each `run:` is one command a person can run the same way (`cargo xtask …`, building
/// xtask, or `.ci/run`), on one line, with no `${{ }}` inside: an expression there is
/// script injection (a tag name is text anyone with push access chooses).
fn thin_steps(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (job, body) in w.jobs() {
        for step in steps(body) {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            if run.contains("${{") {
                problems.push(format!(
                    "job {job}: an expression inside run: (pass it through env:): {run}"
                ));
            }
            if run.trim_end().lines().count() != 1 {
                problems.push(format!("job {job}: one command per step: {run}"));
            }
            let allowed = run.starts_with("cargo xtask ")
                || run == "cargo build --package xtask --locked"
                || run == ".ci/run"
                || run == PINNED_HELM;
            if !allowed {
                problems.push(format!(
                    "job {job}: each step runs `cargo xtask …`, builds xtask, installs the pinned helm or runs .ci/run: {run}"
                ));
            }
        }
    }
    problems
}

/// The step that installs the helm `tools::HELM_VERSION` names, and the validator.
const PINNED_HELM: &str = "bash scripts/install-test-tools.sh chart";

/// A job that packages or reads charts (a publish other than `--only image`, the release
/// gate of `release github`) installs the pinned helm before it: the runner's helm changes
/// from week to week, and charts are compared by what helm packaged.
fn chart_jobs_use_the_pinned_helm(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (job, body) in w.jobs() {
        let runs: Vec<&str> = steps(body)
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect();
        let needs_helm = runs.iter().position(|run| {
            (run.starts_with("cargo xtask release publish") && !run.contains("--only image"))
                || run.starts_with("cargo xtask release github")
        });
        let helm = runs.iter().position(|run| *run == PINNED_HELM);
        if let Some(first) = needs_helm
            && helm.is_none_or(|h| h > first)
        {
            problems.push(format!(
                "job {job}: `{PINNED_HELM}` before it packages or reads a chart"
            ));
        }
    }
    problems
}

fn bounded_jobs(w: &Workflow) -> Vec<String> {
    w.jobs()
        .into_iter()
        .filter(|(_, body)| body["timeout-minutes"].as_u64().is_none())
        .map(|(job, _)| format!("job {job}: timeout-minutes"))
        .collect()
}

/// The publishing jobs plan `latest` and `X.Y` from every tag: their checkout fetches all.
fn publishing_jobs_fetch_every_tag(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (job, body) in w.jobs() {
        let steps = steps(body);
        let plans = steps.iter().any(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("release publish") || r.contains("release github"))
        });
        let fetches_all = steps
            .iter()
            .any(|s| s["with"]["fetch-depth"].as_u64() == Some(0));
        if plans && !fetches_all {
            problems.push(format!(
                "job {job}: checkout with `fetch-depth: 0` (every tag)"
            ));
        }
    }
    problems
}

// --- provenance ---------------------------------------------------------------------------

/// What a publish step pushes, from its `--only`: the outputs naming it and its digest.
fn attested_outputs(run: &str) -> Option<(&'static str, &'static str)> {
    if !run.starts_with("cargo xtask release publish ") || run.contains("--no-push") {
        return None;
    }
    if run.contains("--only image") {
        Some(("image", "image-digest"))
    } else if run.contains("--only chart") {
        Some(("chart-repository", "chart-digest"))
    } else {
        // A publish of both would need two attestations; the workflows publish one each.
        Some(("", ""))
    }
}

/// Each step that pushes an image or a chart is followed by `actions/attest` (v4 or later)
/// of exactly what it pushed, by the step's outputs, attached in the registry
/// (`push-to-registry: true`, which `release verify --provenance` reads). And a job that
/// asks for `id-token: write` or `attestations: write` attests something: an OIDC token
/// nobody uses is only risk.
fn published_artifacts_attested(w: &Workflow) -> Vec<String> {
    let mut problems = Vec::new();
    for (job, body) in w.jobs() {
        let steps = steps(body);
        let attests = |s: &Value| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/attest@"))
        };
        for (i, step) in steps.iter().enumerate() {
            let run = step["run"].as_str().unwrap_or_default();
            let Some((name, digest)) = attested_outputs(run) else {
                continue;
            };
            let shown = step["name"].as_str().unwrap_or(run);
            if name.is_empty() {
                problems.push(format!(
                    "job {job}, step {shown:?}: publish one artifact per step (`--only image` or `--only chart`), each attested"
                ));
                continue;
            }
            let Some(id) = step["id"].as_str() else {
                problems.push(format!(
                    "job {job}, step {shown:?}: needs an `id:`, so the attestation step can name what it pushed"
                ));
                continue;
            };
            let output = |key: &str| format!("${{{{ steps.{id}.outputs.{key} }}}}");
            let attested = steps[i + 1..].iter().any(|s| {
                attests(s)
                    && s["with"]["subject-name"].as_str() == Some(output(name).as_str())
                    && s["with"]["subject-digest"].as_str() == Some(output(digest).as_str())
                    && matches!(&s["with"]["push-to-registry"], Value::Bool(true))
            });
            if !attested {
                problems.push(format!(
                    "job {job}, step {shown:?}: follow it with actions/attest of `subject-name: {}`, `subject-digest: {}`, `push-to-registry: true`",
                    output(name),
                    output(digest)
                ));
            }
        }
        let asks = ["id-token", "attestations"]
            .into_iter()
            .filter(|scope| body["permissions"][*scope].as_str() == Some("write"))
            .map(|scope| format!("`{scope}: write`"))
            .collect::<Vec<_>>();
        if !asks.is_empty() && !steps.iter().any(attests) {
            problems.push(format!(
                "job {job}: asks for {} but attests nothing",
                asks.join(" and ")
            ));
        }
    }
    // v4 runs on Node 24 and signs with the @actions/attest the offline tests run.
    for (spec, comment) in uses(w) {
        if spec.starts_with("actions/attest@")
            && comment.as_deref().and_then(major).is_none_or(|m| m < 4)
        {
            problems.push(format!(
                "{spec} ({}): actions/attest v4 or later",
                comment.as_deref().unwrap_or("no version comment")
            ));
        }
    }
    problems
}

#[test]
fn version_and_stable_tags_trigger_the_right_workflows() {
    let tags = |name: &str| -> Vec<String> {
        let workflow = workflows().into_iter().find(|w| w.name == name).unwrap();
        workflow.yaml["on"]["push"]["tags"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    for name in ["docker.yml", "helm-publish.yml"] {
        assert_eq!(
            tags(name),
            ["v[0-9]+.[0-9]+.[0-9]+", "!v*-stable"],
            "{name}"
        );
    }
    assert_eq!(tags("release.yml"), ["v*"]);
}

// --- every rule can fail ------------------------------------------------------------------

const CHECKOUT: &str = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1";

/// A tag workflow that holds every rule, with `jobs` spliced in.
fn tag_workflow(jobs: &str) -> String {
    format!(
        "name: t\non:\n  push:\n    tags: [\"v*\"]\npermissions: {{}}\nconcurrency:\n  group: release-${{{{ github.workflow }}}}-${{{{ github.ref }}}}\n  cancel-in-progress: false\njobs:\n{jobs}"
    )
}

/// A job with a checkout and `steps` after it (each already indented as a list item).
fn job(permissions: &str, steps: &str) -> String {
    format!(
        "  j:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 5\n    permissions:\n{permissions}    steps:\n      - uses: {CHECKOUT}\n        with:\n          persist-credentials: false\n          fetch-depth: 0\n{steps}"
    )
}

const READ: &str = "      contents: read\n";
const PUSH: &str = "      contents: read\n      packages: write\n";
const BUILD: &str = "      - run: cargo build --package xtask --locked\n";

/// `rule` finds a problem containing `expected` in `text`, named `file`, while the
/// baseline (`good`) passes the same rule: the rule fails because of the snippet.
#[track_caller]
fn check(rule: Rule, file: &str, good: &str, bad: &str, expected: &str) {
    let baseline = rule(&Workflow::parse(file, good));
    assert!(
        baseline.is_empty(),
        "the baseline breaks the rule: {baseline:?}"
    );
    let problems = rule(&Workflow::parse(file, bad));
    assert!(
        problems.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, got {problems:?}"
    );
}

#[test]
fn the_snippet_baseline_holds_every_rule() {
    let good = tag_workflow(&job(READ, BUILD));
    for (name, rule) in RULES {
        assert_eq!(
            rule(&Workflow::parse("t.yml", &good)),
            Vec::<String>::new(),
            "{name}"
        );
    }
}

#[test]
fn rejects_more_permission_than_the_workflow_needs() {
    let good = tag_workflow(&job(READ, BUILD));
    let publish = "      - run: cargo xtask release publish \"$GITHUB_REF\" --no-push\n      - run: cargo xtask release publish \"$GITHUB_REF\"\n        env:\n          RELEASE_REGISTRY_PASSWORD: ${{ secrets.GITHUB_TOKEN }}\n";
    let pushes = tag_workflow(&job(PUSH, &format!("{BUILD}{publish}")));
    // Pushing packages is for docker.yml and helm-publish.yml only.
    check(
        least_privilege,
        "ci.yml",
        &good,
        &pushes,
        "`packages: write` is more than it needs",
    );
    let bad = good.replace("permissions: {}\n", "permissions: write-all\n");
    check(
        least_privilege,
        "docker.yml",
        &good,
        &bad,
        "top-level `permissions: {}`",
    );
    let bad = good.replace("    permissions:\n      contents: read\n", "");
    check(
        least_privilege,
        "docker.yml",
        &good,
        &bad,
        "no `permissions:` of its own",
    );
    // Allowed in docker.yml, but nothing there is given the token.
    let idle = tag_workflow(&job(PUSH, BUILD));
    check(
        least_privilege,
        "docker.yml",
        &good,
        &idle,
        "no step is given the token",
    );
}

#[test]
fn rejects_actions_not_owned_by_github_or_not_pinned() {
    let good = tag_workflow(&job(READ, BUILD));
    let with = |uses: &str| tag_workflow(&job(READ, &format!("      - uses: {uses}\n{BUILD}")));
    check(
        github_owned_pinned_actions,
        "t.yml",
        &good,
        &with("docker/setup-buildx-action@e468171a9de216ec08956ac3ada2f0791b6bd435 # v3.11.1"),
        "only GitHub-owned actions",
    );
    check(
        github_owned_pinned_actions,
        "t.yml",
        &good,
        &with("actions/cache@v4"),
        "pin a full 40-hex commit SHA",
    );
    check(
        github_owned_pinned_actions,
        "t.yml",
        &good,
        &with("actions/cache@0400d5f644dc74513175e3cd8d07132dd4860809"),
        "needs its version in a comment",
    );
    // A `uses:` under a step's name is a `uses:` too.
    let named = tag_workflow(&job(
        READ,
        &format!(
            "      - name: buildx\n        uses: docker/setup-buildx-action@e468171a9de216ec08956ac3ada2f0791b6bd435 # v3.11.1\n{BUILD}"
        ),
    ));
    check(
        github_owned_pinned_actions,
        "t.yml",
        &good,
        &named,
        "only GitHub-owned actions",
    );
    // So is a job that calls a reusable workflow.
    let reusable = format!(
        "{good}  other:\n    uses: someone/workflows/.github/workflows/x.yml@0400d5f644dc74513175e3cd8d07132dd4860809 # v1.0.0\n"
    );
    check(
        github_owned_pinned_actions,
        "t.yml",
        &good,
        &reusable,
        "only GitHub-owned actions",
    );
}

#[test]
fn rejects_checkout_on_node_20_or_keeping_credentials() {
    let good = tag_workflow(&job(READ, BUILD));
    let v4 = good.replace(
        CHECKOUT,
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
    );
    check(
        checkout_on_node24,
        "t.yml",
        &good,
        &v4,
        "actions/checkout v5 or later",
    );
    let kept = good.replace("          persist-credentials: false\n", "");
    check(
        checkout_on_node24,
        "t.yml",
        &good,
        &kept,
        "persist-credentials: false",
    );
}

#[test]
fn rejects_a_write_token_beside_a_compile_or_before_the_build() {
    let good = tag_workflow(&job(READ, BUILD));
    let token = "        env:\n          GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n";
    let rule = tokens_only_where_they_write;
    // The checks compile dependencies and run every test.
    let ci = tag_workflow(&job(
        READ,
        &format!("{BUILD}      - run: cargo xtask ci\n{token}"),
    ));
    check(rule, "t.yml", &good, &ci, "compiles or tests with GH_TOKEN");
    let gate = tag_workflow(&job(READ, &format!("      - run: .ci/run\n{token}")));
    check(
        rule,
        "t.yml",
        &good,
        &gate,
        "compiles or tests with GH_TOKEN",
    );
    // `release github` runs the checks in-process unless told not to.
    let github = tag_workflow(&job(
        READ,
        &format!("{BUILD}      - run: cargo xtask release github \"$GITHUB_REF\"\n{token}"),
    ));
    check(
        rule,
        "t.yml",
        &good,
        &github,
        "compiles or tests with GH_TOKEN",
    );
    // `cargo xtask` is `cargo run`: without an earlier build, it compiles xtask itself.
    let unbuilt = tag_workflow(&job(
        READ,
        &format!("      - run: cargo xtask release github \"$GITHUB_REF\" --no-checks\n{token}"),
    ));
    check(
        rule,
        "t.yml",
        &good,
        &unbuilt,
        "build xtask first, without the token",
    );
    // A publish whose binaries were not built by the same command with --no-push.
    let password =
        "        env:\n          RELEASE_REGISTRY_PASSWORD: ${{ secrets.GITHUB_TOKEN }}\n";
    let publish = tag_workflow(&job(
        READ,
        &format!(
            "{BUILD}      - run: cargo xtask release publish \"$GITHUB_REF\" --only image\n{password}"
        ),
    ));
    check(rule, "t.yml", &good, &publish, "--only image --no-push");
    // A token in the job's or the workflow's env reaches every step.
    let job_env = good.replace(
        "    timeout-minutes: 5\n",
        "    timeout-minutes: 5\n    env:\n      RELEASE_REGISTRY_PASSWORD: ${{ secrets.GITHUB_TOKEN }}\n",
    );
    check(
        rule,
        "t.yml",
        &good,
        &job_env,
        "job j: env RELEASE_REGISTRY_PASSWORD",
    );
    let workflow_env = good.replace("jobs:\n", "env:\n  GH_TOKEN: ${{ github.token }}\njobs:\n");
    check(rule, "t.yml", &good, &workflow_env, "workflow env GH_TOKEN");
}

#[test]
fn rejects_a_shared_or_cancellable_group_for_tags() {
    let good = tag_workflow(&job(READ, BUILD));
    let rule = per_tag_concurrency;
    let shared = good.replace("-${{ github.ref }}", "");
    check(rule, "t.yml", &good, &shared, "one group per ref");
    let unnamed = good.replace("release-${{ github.workflow }}-", "release-");
    check(
        rule,
        "t.yml",
        &good,
        &unnamed,
        "release-${{ github.workflow }}",
    );
    let cancels = good.replace("cancel-in-progress: false", "cancel-in-progress: true");
    check(
        rule,
        "t.yml",
        &good,
        &cancels,
        "never cancel a publish half-way",
    );
}

#[test]
fn rejects_scripts_expressions_and_unbounded_jobs() {
    let good = tag_workflow(&job(READ, BUILD));
    let with = |run: &str| tag_workflow(&job(READ, &format!("{BUILD}      - run: {run}\n")));
    let rule = thin_steps;
    check(
        rule,
        "t.yml",
        &good,
        &with("cargo xtask release classify ${{ github.ref_name }}"),
        "an expression inside run:",
    );
    check(
        rule,
        "t.yml",
        &good,
        &with("|\n          cargo xtask ci\n          cargo xtask dist"),
        "one command per step",
    );
    check(
        rule,
        "t.yml",
        &good,
        &with("curl -sSf https://example.invalid/x | sh"),
        "each step runs `cargo xtask …`",
    );
    let unbounded = good.replace("    timeout-minutes: 5\n", "");
    check(bounded_jobs, "t.yml", &good, &unbounded, "timeout-minutes");
    let shallow = tag_workflow(&job(
        READ,
        &format!("{BUILD}      - run: cargo xtask release publish v1.0.0 --no-push\n"),
    ))
    .replace("          fetch-depth: 0\n", "");
    check(
        publishing_jobs_fetch_every_tag,
        "t.yml",
        &good,
        &shallow,
        "fetch-depth: 0",
    );
}

#[test]
fn rejects_a_publish_without_its_attestation_or_an_idle_oidc_token() {
    let rule = published_artifacts_attested;
    let attest = |name: &str, digest: &str, push: &str| {
        format!(
            "      - uses: actions/attest@1e69f48acb82d1966a394da916b4c1698aa569d6 # v4.2.2\n        with:\n          subject-name: ${{{{ steps.publish.outputs.{name} }}}}\n          subject-digest: ${{{{ steps.publish.outputs.{digest} }}}}\n          push-to-registry: {push}\n"
        )
    };
    let publish = "      - run: cargo xtask release publish \"$GITHUB_REF\" --only image --no-push\n      - id: publish\n        run: cargo xtask release publish \"$GITHUB_REF\" --only image\n";
    let attesting = "      contents: read\n      packages: write\n      id-token: write\n      attestations: write\n";
    let workflow = |steps: &str| tag_workflow(&job(attesting, &format!("{BUILD}{steps}")));
    let good = workflow(&format!(
        "{publish}{}",
        attest("image", "image-digest", "true")
    ));
    let follow =
        "follow it with actions/attest of `subject-name: ${{ steps.publish.outputs.image }}`";
    check(rule, "docker.yml", &good, &workflow(publish), follow);
    // Another artifact's digest, no copy in the registry, or before the push.
    let chart = workflow(&format!(
        "{publish}{}",
        attest("image", "chart-digest", "true")
    ));
    check(rule, "docker.yml", &good, &chart, follow);
    let api_only = workflow(&format!(
        "{publish}{}",
        attest("image", "image-digest", "false")
    ));
    check(rule, "docker.yml", &good, &api_only, follow);
    let before = workflow(&format!(
        "{}{publish}",
        attest("image", "image-digest", "true")
    ));
    check(rule, "docker.yml", &good, &before, follow);
    let unnamed = good.replace("      - id: publish\n        run:", "      - run:");
    check(rule, "docker.yml", &good, &unnamed, "needs an `id:`");
    let both = good.replace(" --only image\n", "\n");
    check(
        rule,
        "docker.yml",
        &good,
        &both,
        "publish one artifact per step",
    );
    let old = good.replace("# v4.2.2", "# v3.0.0");
    check(
        rule,
        "docker.yml",
        &good,
        &old,
        "actions/attest v4 or later",
    );
    // An OIDC token with nothing to sign.
    let idle = tag_workflow(&job(attesting, BUILD));
    check(
        rule,
        "docker.yml",
        &good,
        &idle,
        "asks for `id-token: write` and `attestations: write` but attests nothing",
    );
    // And anywhere but the publishing workflows, the scopes are more than a job needs.
    check(
        least_privilege,
        "ci.yml",
        &tag_workflow(&job(READ, BUILD)),
        &tag_workflow(&job("      contents: read\n      id-token: write\n", BUILD)),
        "`id-token: write` is more than it needs",
    );
}

#[test]
fn rejects_a_chart_job_on_the_runners_helm() {
    let publish = "      - run: cargo xtask release publish v1.0.0 --no-push\n";
    let good = tag_workflow(&job(
        READ,
        &format!("{BUILD}      - run: {PINNED_HELM}\n{publish}"),
    ));
    let runners_helm = tag_workflow(&job(READ, &format!("{BUILD}{publish}")));
    let late = tag_workflow(&job(
        READ,
        &format!("{BUILD}{publish}      - run: {PINNED_HELM}\n"),
    ));
    let rule = chart_jobs_use_the_pinned_helm;
    check(rule, "t.yml", &good, &runners_helm, PINNED_HELM);
    check(rule, "t.yml", &good, &late, PINNED_HELM);
    let image_only = tag_workflow(&job(
        READ,
        &format!("{BUILD}      - run: cargo xtask release publish v1.0.0 --only image\n"),
    ));
    assert!(rule(&Workflow::parse("t.yml", &image_only)).is_empty());
}
