//! `release stamp` on real files: atomic, all or nothing.

use crate::support::Project;

#[test]
fn stamps_the_configured_chart() {
    let project = Project::new();
    let run = project.xtask(&["release", "stamp", "v1.2.3"]).success();
    assert_eq!(
        run.stdout,
        "stamped charts/llm-proxy/Chart.yaml: version 1.2.3, appVersion v1.2.3\n"
    );
    assert_eq!(
        project.read("charts/llm-proxy/Chart.yaml"),
        "apiVersion: v2\nname: llm-proxy\n# stamped by releases\nversion: 1.2.3\nappVersion: \"v1.2.3\"\n"
    );
}

#[test]
fn stamps_another_chart_dir() {
    let project = Project::new();
    project.write("other/Chart.yaml", "name: other\nversion: 0.1.0\n");
    project
        .xtask(&["release", "stamp", "2.0.0", "--chart", "other"])
        .success();
    assert_eq!(
        project.read("other/Chart.yaml"),
        "name: other\nversion: 2.0.0\nappVersion: \"v2.0.0\"\n"
    );
}

/// `--chart` naming no chart is a usage error (exit 2) with the accepted form, not a failed
/// stamp (exit 1).
#[test]
fn a_chart_dir_without_a_chart_is_a_usage_error() {
    let project = Project::new();
    project.write("empty/notes.txt", "x\n");
    let before = project.snapshot();
    for dir in ["missing", "empty"] {
        for dry_run in [&[][..], &["--dry-run"]] {
            let args = [&["release", "stamp", "1.2.3", "--chart", dir][..], dry_run].concat();
            let run = project.xtask(&args).usage_error();
            assert_eq!(
                run.stderr,
                format!(
                    "error: --chart \"{dir}\": no Chart.yaml there; expected a chart directory relative to the repository root, such as charts/llm-proxy\n"
                ),
                "{run}"
            );
            assert_eq!(run.stdout, "", "{run}");
        }
    }
    assert_eq!(project.snapshot(), before);
}

#[test]
fn invalid_version_changes_nothing() {
    let project = Project::new();
    let before = project.read("charts/llm-proxy/Chart.yaml");
    for bad in ["1.2", "v1.2.3-stable", "1.2.3-rc1", "latest"] {
        project
            .xtask(&["release", "stamp", bad])
            .usage_error()
            .stderr_has("accepted forms");
    }
    assert_eq!(project.read("charts/llm-proxy/Chart.yaml"), before);
}

#[test]
fn refused_chart_is_left_byte_identical() {
    let project = Project::new();
    let dup = "name: x\nversion: 0.1.0\nversion: 0.2.0\n";
    project.write("charts/llm-proxy/Chart.yaml", dup);
    project
        .xtask(&["release", "stamp", "1.2.3"])
        .failure()
        .stderr_has("duplicate");
    assert_eq!(project.read("charts/llm-proxy/Chart.yaml"), dup);
    let entries = std::fs::read_dir(project.work.join("charts/llm-proxy"))
        .unwrap()
        .count();
    assert_eq!(entries, 2, "no temporary file may be left behind");
}

#[test]
fn non_utf8_chart_is_refused() {
    let project = Project::new();
    std::fs::write(
        project.work.join("charts/llm-proxy/Chart.yaml"),
        b"name: x\nversion: \xff\n",
    )
    .unwrap();
    project
        .xtask(&["release", "stamp", "1.2.3"])
        .failure()
        .stderr_has("is not UTF-8");
}

#[test]
fn symlink_leaving_the_repository_is_refused() {
    let project = Project::new();
    let outside = project.tmp.path().join("outside.yaml");
    std::fs::write(&outside, "name: x\nversion: 0.1.0\n").unwrap();
    let chart = project.work.join("charts/llm-proxy/Chart.yaml");
    std::fs::remove_file(&chart).unwrap();
    std::os::unix::fs::symlink(&outside, &chart).unwrap();
    project
        .xtask(&["release", "stamp", "1.2.3"])
        .failure()
        .stderr_has("outside the repository");
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "name: x\nversion: 0.1.0\n"
    );
}

#[test]
fn symlink_inside_the_repository_is_followed() {
    let project = Project::new();
    project.write("real/Chart.yaml", "name: x\nversion: 0.1.0\n");
    let chart = project.work.join("charts/llm-proxy/Chart.yaml");
    std::fs::remove_file(&chart).unwrap();
    std::os::unix::fs::symlink(project.work.join("real/Chart.yaml"), &chart).unwrap();
    project.xtask(&["release", "stamp", "1.2.3"]).success();
    assert!(
        std::fs::symlink_metadata(&chart)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link must stay a link"
    );
    assert_eq!(
        project.read("real/Chart.yaml"),
        "name: x\nversion: 1.2.3\nappVersion: \"v1.2.3\"\n"
    );
}

const CHART: &str = "charts/llm-proxy/Chart.yaml";

#[test]
fn a_comment_after_a_tab_is_kept_byte_for_byte() {
    let project = Project::new();
    project.write(
        CHART,
        "apiVersion: v2\nname: llm-proxy\nversion: 0.0.0-dev\t# keep me\r\nappVersion: \"v0.0.0-dev\"\t# and me\n",
    );
    project.xtask(&["release", "stamp", "2.0.0"]).success();
    assert_eq!(
        project.read(CHART),
        "apiVersion: v2\nname: llm-proxy\nversion: 2.0.0\t# keep me\r\nappVersion: \"v2.0.0\"\t# and me\n"
    );
}

/// The repository's own chart, with its `artifacthub.io/images` annotation: the image it
/// lists is the release's own.
#[test]
fn the_repository_chart_gets_its_annotated_image_stamped() {
    let original = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/llm-proxy/Chart.yaml"),
    )
    .unwrap();
    assert!(
        original.contains("image: ghcr.io/sofatutor/llm-proxy:v0.0.0-dev\n"),
        "the chart's annotation changed: update this test"
    );
    let project = Project::new();
    project.write(CHART, &original);
    let dry = project
        .xtask(&["release", "stamp", "1.2.3", "--dry-run"])
        .success();
    let changed = dry
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"));
    assert_eq!(changed.count(), 3, "{dry}");
    assert!(
        dry.stdout
            .contains("+      image: ghcr.io/sofatutor/llm-proxy:v1.2.3\n"),
        "{dry}"
    );
    assert_eq!(project.read(CHART), original);

    project.xtask(&["release", "stamp", "1.2.3"]).success();
    assert_eq!(
        project.read(CHART),
        original
            .replace("\nversion: 0.0.0-dev\n", "\nversion: 1.2.3\n")
            .replace(
                "\nappVersion: \"v0.0.0-dev\"\n",
                "\nappVersion: \"v1.2.3\"\n"
            )
            .replace("llm-proxy:v0.0.0-dev\n", "llm-proxy:v1.2.3\n")
    );
}

#[test]
fn two_annotated_images_are_refused_and_nothing_is_written() {
    let project = Project::new();
    let chart = "apiVersion: v2\nname: llm-proxy\nversion: 0.0.0-dev\nannotations:\n  artifacthub.io/images: |\n    - image: a/b:v0\n    - image: a/c:v0\n";
    project.write(CHART, chart);
    project
        .xtask(&["release", "stamp", "1.2.3"])
        .failure()
        .stderr_has("has 2 `image:` lines; expected exactly one");
    assert_eq!(project.read(CHART), chart);
}
