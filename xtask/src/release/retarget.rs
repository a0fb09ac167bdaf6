//! `release retarget X.Y|latest X.Y.Z`: moves a moving tag back to an older release that
//! verifies, by digest, and leaves the record that `verify`, `status` and `publish` read
//! (`publish::retarget`).
//!
//! STEP 1: ask about the version as `release verify --artifacts-only` does (its checks, the
//! moving tags' digests and records, its commit on the default branch).
//! STEP 2: ask which release the moving tag holds now (its image's version label).
//! STEP 3: plan purely (`publish::retarget::plan`), print the plan; refuse, stop (dry run),
//! or ask (`--yes` without a terminal).
//! STEP 4: write the record's files, run each step exactly as printed, then re-read the
//! registry (and GitHub's Latest with `--github`) to say what holds now.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::check::{Gate, Lookup};
use crate::cli::RetargetArgs;
use crate::project::Project;
use crate::publish::retarget::{self, Outcome, Retarget, RetargetFacts, RetargetStep};
use crate::registry::oci::{self, Reference};
use crate::registry::oci_io::{Credentials, Registry};
use crate::scratch::Scratch;
use crate::tag::grammar::{self, TagKind};
use crate::tag::push_io::{self, Mode};
use crate::verify::checks::verify;
use crate::verify::checks_io::{self, Scope};
use crate::{exec, tools, ui};

pub fn run(sh: &Shell, project: &Project, args: RetargetArgs) -> Result<()> {
    let config = &project.config;
    let version = &args.version;
    let tag = args.tag.name();
    let missing: Vec<String> = crate::project::missing_tools(&["skopeo"])
        .iter()
        .map(|t| tools::missing(t))
        .collect();
    if !missing.is_empty() {
        bail!("cannot retarget {tag}: {}", missing.join("; "));
    }

    // STEP 1: the version, as verify sees it.
    let facts = checks_io::gather(
        sh,
        project,
        version,
        Scope::Artifacts,
        false,
        config.provenance,
    )?;
    // The promotion gate's verdict: what promote and github require, required here too.
    let Gate::Checked(failing) = Gate::from_checks(&verify(config, &facts)) else {
        unreachable!("a gate built from checks is Checked")
    };

    // STEP 2: which release the tag holds now.
    let credentials = Credentials::from_env(config)?;
    let scratch = Scratch::new("retarget")?;
    let registry = Registry::new(
        sh,
        config.plain_http,
        credentials.as_ref(),
        &scratch.dir("registry")?,
    );
    let held = held_release(&registry, &config.image, &tag);
    let record_ref = Reference::new(&config.image, &retarget::record_tag(&tag));
    let version_tags = checks_io::version_tags(&facts.remote_tags);
    let record = checks_io::read_record(
        match registry.manifest(&record_ref) {
            Ok(Some(found)) => Lookup::Found(found.body),
            Ok(None) => Lookup::Missing,
            Err(e) => Lookup::Unknown(format!("{e:#}")),
        },
        &tag,
        &version_tags,
    );

    // STEP 3: the plan.
    let record_dir = scratch.dir("record")?;
    let plan = retarget::plan(&RetargetFacts {
        tag: args.tag.clone(),
        version: version.clone(),
        digest: match &facts.version_image {
            Lookup::Found(index) => Lookup::Found(index.digest.clone()),
            Lookup::Missing => Lookup::Missing,
            Lookup::Unknown(why) => Lookup::Unknown(why.clone()),
        },
        on_default_branch: facts.on_default_branch.clone(),
        failing,
        held,
        record,
        version_tags: version_tags.clone(),
        github: args.github.then(|| match &facts.stable_commit {
            Lookup::Found(_) => Lookup::Found(true),
            Lookup::Missing => Lookup::Found(false),
            Lookup::Unknown(why) => Lookup::Unknown(why.clone()),
        }),
        github_repo: config.github_repo.clone(),
        image: config.image.clone(),
        plain_http: config.plain_http,
        record_dir: record_dir.display().to_string(),
    });
    print!("{plan}");
    let steps = match &plan.outcome {
        Outcome::AlreadyThere => return Ok(()),
        Outcome::Refused(_) => bail!("{}: refused, nothing was changed", plan.title),
        Outcome::Steps(steps) => steps,
    };
    match Mode::from_flags(args.dry_run, args.yes) {
        Mode::DryRun => {
            println!("dry run: nothing was changed");
            return Ok(());
        }
        Mode::Ask => push_io::confirm(&plan.title)?,
        Mode::Confirmed => {}
    }

    // STEP 4: carry it out, then say what holds now.
    let mut written: Option<Retarget> = None;
    for step in steps {
        if let RetargetStep::WriteRecord { record, dir, .. } = step {
            for (name, text) in record.dir_layout() {
                let path = std::path::Path::new(dir).join(&name);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            written = Some(record.clone());
        }
        exec::run(sh, step.invocation())?;
    }
    let record = written.expect("a retarget writes its record first");
    let now = registry
        .manifest(&Reference::new(&config.image, &tag))?
        .with_context(|| format!("{}:{tag} is missing right after the retarget", config.image))?;
    if now.digest != record.digest {
        bail!(
            "{}:{tag} holds {} after the retarget, not {}",
            config.image,
            now.digest,
            record.digest
        );
    }
    let stored = registry
        .manifest(&record_ref)?
        .with_context(|| format!("{record_ref} is missing right after writing it"))?;
    let versions = version_tags.as_deref().unwrap_or_default();
    if Retarget::parse(&stored.body, &tag, versions).as_ref() != Ok(&record) {
        bail!("{record_ref} does not hold the record just written");
    }
    println!(
        "{}:{tag} now holds v{version} ({}), moved back from v{}; recorded in {record_ref}",
        config.image, record.digest, record.from
    );
    if args.github {
        let stable = grammar::stable_tag(version);
        let endpoint = format!("repos/{}/releases/latest", config.github_repo);
        let latest = cmd!(sh, "gh api {endpoint} --jq .tag_name")
            .quiet()
            .read()
            .context("cannot read GitHub's Latest release back")?;
        if latest.trim() != stable {
            bail!("GitHub's Latest is {}, not {stable}", latest.trim());
        }
        println!("GitHub's Latest release is now {stable}");
    }
    ui::summary(&format!(
        "`{tag}` retargeted to v{version} (`{}`), away from v{}",
        record.digest, record.from
    ))?;
    Ok(())
}

/// What `image:tag` holds: its digest, and the release its version label names.
fn held_release(
    registry: &Registry<'_>,
    image: &str,
    tag: &str,
) -> Lookup<(String, Option<semver::Version>)> {
    let reference = Reference::new(image, tag);
    let read = || -> Result<Option<(String, Option<semver::Version>)>> {
        let Some(found) = registry.manifest(&reference)? else {
            return Ok(None);
        };
        let labels = registry.image_labels(&reference, &oci::parse_manifest(&found.body)?)?;
        let version = labels
            .get(oci::VERSION_LABEL)
            .and_then(|label| grammar::release_tag(label))
            .filter(|t| t.kind == TagKind::Version)
            .map(|t| t.version);
        Ok(Some((found.digest, version)))
    };
    match read() {
        Ok(Some(held)) => Lookup::Found(held),
        Ok(None) => Lookup::Missing,
        Err(e) => Lookup::Unknown(format!("{e:#}")),
    }
}
