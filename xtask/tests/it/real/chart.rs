//! The chart as the real helm and Kubernetes' own schemas see it: `values.schema.json`
//! refuses each bad value in both `helm lint --strict` and `helm template`, naming the key;
//! the defaults and each `ci/*-values.yaml` lint, render and pass `kubernetes-validate` for
//! every Kubernetes minor that `Chart.yaml`'s `kubeVersion` admits; and the options render
//! what they promise: digest pinning with a valid version label, the OpenShift null UID,
//! the ServiceAccount, the PodDisruptionBudget and the `helm test` pod.
//!
//! Checked with helm v3.18.0 and kubernetes-validate 1.37.0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_yaml::Value;

use super::{require, workspace};
use crate::support::TempDir;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const REPOSITORY: &str = "ghcr.io/sofatutor/llm-proxy";

fn chart_dir() -> PathBuf {
    workspace().join("charts/llm-proxy")
}

/// helm with its cache, configuration and data in a temporary directory, so that no test
/// reads or writes the developer's; values are written to files there, because what YAML
/// makes of them (`1.10` is a number) is part of what is tested.
struct Helm {
    dir: TempDir,
    files: std::cell::Cell<usize>,
}

impl Helm {
    fn new() -> Helm {
        Helm {
            dir: TempDir::new(),
            files: Default::default(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let home = |name: &str| self.dir.path().join("helm").join(name);
        Command::new(require("helm"))
            .args(args)
            .env("HELM_CACHE_HOME", home("cache"))
            .env("HELM_CONFIG_HOME", home("config"))
            .env("HELM_DATA_HOME", home("data"))
            .output()
            .unwrap()
    }

    /// A values file holding `yaml`, as `--values` wants it.
    fn values(&self, yaml: &str) -> String {
        let n = self.files.get();
        self.files.set(n + 1);
        let path = self.dir.path().join(format!("values-{n}.yaml"));
        std::fs::write(&path, yaml).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// `helm lint --strict` of `chart` with `values` files; its output when it fails.
    fn lint(&self, chart: &Path, values: &[String]) -> Result<(), String> {
        let mut args = vec!["lint", "--strict", chart.to_str().unwrap()];
        for file in values {
            args.extend(["--values", file]);
        }
        result(self.run(&args))
    }

    /// `helm template t` of `chart` with `values` files (the release is named `t`).
    fn template_with(&self, chart: &Path, values: &[String]) -> Result<String, String> {
        let mut args = vec!["template", "t", chart.to_str().unwrap()];
        for file in values {
            args.extend(["--values", file]);
        }
        let out = self.run(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        result(out).map(|()| stdout)
    }

    /// The manifests of this repository's chart with `yaml` as values.
    fn render(&self, yaml: &str) -> Vec<Value> {
        let values = self.values(yaml);
        let rendered = self
            .template_with(&chart_dir(), &[values])
            .unwrap_or_else(|e| panic!("helm template with {yaml:?} failed:\n{e}"));
        documents(&rendered)
    }
}

fn result(out: Output) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn documents(rendered: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(rendered)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// The one object of `kind`, or a failure naming the kinds rendered.
#[track_caller]
fn object<'a>(manifests: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = manifests.iter().filter(|m| m["kind"] == kind).collect();
    let kinds: Vec<&str> = manifests
        .iter()
        .filter_map(|m| m["kind"].as_str())
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}, rendered: {kinds:?}");
    found[0]
}

fn has(manifests: &[Value], kind: &str) -> bool {
    manifests.iter().any(|m| m["kind"] == kind)
}

/// The Deployment's pod spec.
fn pod(manifests: &[Value]) -> &Value {
    &object(manifests, "Deployment")["spec"]["template"]["spec"]
}

/// The `helm test` pod.
fn test_pod(manifests: &[Value]) -> &Value {
    let pods: Vec<&Value> = manifests
        .iter()
        .filter(|m| m["kind"] == "Pod" && m["metadata"]["annotations"]["helm.sh/hook"] == "test")
        .collect();
    assert_eq!(pods.len(), 1, "expected one helm test pod");
    pods[0]
}

fn str_of(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

/// A label value the API server accepts: at most 63 characters, empty or alphanumeric at
/// both ends with only `-`, `_` and `.` between.
fn valid_label_value(value: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    value.is_empty()
        || (value.len() <= 63
            && value.chars().all(inner)
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Every label of every object and pod template is valid; returns the version labels.
#[track_caller]
fn version_labels(manifests: &[Value]) -> Vec<String> {
    let mut versions = Vec::new();
    for manifest in manifests {
        let metadata = [
            &manifest["metadata"],
            &manifest["spec"]["template"]["metadata"],
        ];
        for labels in metadata.iter().filter_map(|m| m["labels"].as_mapping()) {
            for (key, value) in labels {
                let value = str_of(value);
                assert!(
                    valid_label_value(value),
                    "label {key:?}: {value:?} is invalid"
                );
                if key == "app.kubernetes.io/version" {
                    versions.push(value.to_string());
                }
            }
        }
    }
    assert!(!versions.is_empty(), "no app.kubernetes.io/version label");
    versions
}

/// The defaults (no file) and every `ci/*-values.yaml`, by name.
fn values_sets() -> Vec<(String, Option<String>)> {
    let mut files: Vec<String> = std::fs::read_dir(chart_dir().join("ci"))
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .filter(|p| p.ends_with("-values.yaml"))
        .collect();
    files.sort();
    let mut sets = vec![("defaults".to_string(), None)];
    sets.extend(files.into_iter().map(|f| {
        let name = Path::new(&f)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        (name, Some(f))
    }));
    sets
}

/// The Kubernetes minors to validate against: from `Chart.yaml`'s `kubeVersion`, which must be
/// exactly `>=1.N.0-0`, to the newest minor the installed kubernetes-validate ships (its own
/// version), both included.
fn kube_versions() -> Vec<String> {
    let chart: Value =
        serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap())
            .unwrap();
    let range = str_of(&chart["kubeVersion"]);
    let from: u32 = range
        .strip_prefix(">=1.")
        .and_then(|r| r.strip_suffix(".0-0"))
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("kubeVersion {range:?} is not of the form >=1.N.0-0"));
    let out = Command::new(require("kubernetes-validate"))
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let to: u32 = version
        .strip_prefix("1.")
        .and_then(|r| r.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("kubernetes-validate --version printed {version:?}"));
    assert!(
        from <= to,
        "kubernetes-validate {version} predates kubeVersion {range}"
    );
    (from..=to).map(|minor| format!("1.{minor}")).collect()
}

/// `kubernetes-validate --strict --quiet` of `files` for every one of `versions`, in one run.
/// `--strict` makes unknown fields errors. A kind whose schema is missing (an API version
/// that Kubernetes removed, a typo) is only a warning with exit code 0, so with `--quiet`
/// any output at all is a failure too.
fn kubernetes_validate(versions: &[String], files: &[PathBuf]) -> Result<(), String> {
    let mut command = Command::new(require("kubernetes-validate"));
    command.args(["--strict", "--quiet"]);
    for version in versions {
        command.args(["--kubernetes-version", version]);
    }
    let out = command.args(files).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(format!(
            "kubernetes-validate exited with {}:\n{text}",
            out.status
        ))
    }
}

#[test]
fn each_bad_value_fails_lint_and_template_naming_the_key() {
    let helm = Helm::new();
    // (values, what helm's message must contain to name the key)
    let cases = [
        ("replicaCount: two", "replicaCount: Invalid type"),
        ("replicaCount: -1", "replicaCount: Must be greater"),
        ("image:\n  tag: 123", "image.tag: Invalid type"),
        // YAML reads 1.10 as the number 1.1: without the schema it deployed `:1.1`.
        ("image:\n  tag: 1.10", "image.tag: Invalid type"),
        // The reference that made an invalid version label: a digest belongs in image.digest.
        (
            &format!("image:\n  tag: v1.2.3@{DIGEST}"),
            "image.tag: Does not match",
        ),
        ("image:\n  digest: 0123abcd", "image.digest: Does not match"),
        (
            "image:\n  pullPolicy: Sometimes",
            "image.pullPolicy must be one of",
        ),
        ("service:\n  port: -1", "service.port: Must be greater"),
        ("service:\n  port: 70000", "service.port: Must be less"),
        ("service:\n  type: Foo", "service.type must be one of"),
        ("containerPort: 0", "containerPort: Must be greater"),
        (
            "replicaCuont: 2",
            "Additional property replicaCuont is not allowed",
        ),
        (
            "image:\n  tga: v1.2.3",
            "image: Additional property tga is not allowed",
        ),
        (
            "serviceAccount:\n  craete: true",
            "Additional property craete",
        ),
        ("podLabels:\n  tier: 1", "podLabels.tier: Invalid type"),
        (
            "podDisruptionBudget:\n  minAvailable: half",
            "podDisruptionBudget.minAvailable",
        ),
    ];
    let mut wrong = Vec::new();
    for (yaml, message) in cases {
        let values = [helm.values(yaml)];
        match helm.lint(&chart_dir(), &values) {
            Ok(()) => wrong.push(format!("helm lint --strict passed {yaml:?}")),
            Err(out) if !out.contains(message) => wrong.push(format!(
                "helm lint of {yaml:?} does not say {message:?}:\n{out}"
            )),
            Err(_) => {}
        }
        match helm.template_with(&chart_dir(), &values) {
            Ok(_) => wrong.push(format!("helm template passed {yaml:?}")),
            Err(out) if !out.contains(message) => wrong.push(format!(
                "helm template of {yaml:?} does not say {message:?}:\n{out}"
            )),
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_quoted_numeric_tag_is_deployed_as_written() {
    let manifests = Helm::new().render("image:\n  tag: \"1.10\"");
    assert_eq!(
        pod(&manifests)["containers"][0]["image"],
        format!("{REPOSITORY}:1.10").as_str()
    );
}

#[test]
fn defaults_and_each_ci_values_file_lint_and_render() {
    let helm = Helm::new();
    let sets = values_sets();
    assert!(
        sets.len() >= 4,
        "expected the defaults and the ci/ files: {sets:?}"
    );
    for (name, file) in &sets {
        let values: Vec<String> = file.iter().cloned().collect();
        if let Err(out) = helm.lint(&chart_dir(), &values) {
            panic!("helm lint --strict with {name} failed:\n{out}");
        }
        let rendered = helm
            .template_with(&chart_dir(), &values)
            .unwrap_or_else(|e| panic!("helm template with {name} failed:\n{e}"));
        let manifests = documents(&rendered);
        for kind in ["Deployment", "Service"] {
            object(&manifests, kind);
        }
        test_pod(&manifests);
        version_labels(&manifests);
    }
}

#[test]
fn the_defaults_render_the_chart_release_hardened() {
    let manifests = Helm::new().render("{}");
    let pod = pod(&manifests);
    assert_eq!(
        pod["containers"][0]["image"],
        format!("{REPOSITORY}:v0.0.0-dev").as_str()
    );
    assert_eq!(version_labels(&manifests)[0], "v0.0.0-dev");
    // The service drains for at most 10 s on SIGTERM; the kubelet waits a little longer.
    assert_eq!(pod["terminationGracePeriodSeconds"], 15);
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    let container = &pod["containers"][0]["securityContext"];
    assert_eq!(container["runAsUser"], 65532);
    assert_eq!(container["readOnlyRootFilesystem"], true);
    assert_eq!(container["allowPrivilegeEscalation"], false);
    assert!(!has(&manifests, "PodDisruptionBudget"));
}

#[test]
fn rendered_manifests_pass_kubernetes_schemas_for_every_declared_version() {
    let versions = kube_versions();
    for promised in ["1.29", "1.30", "1.31", "1.32", "1.33"] {
        assert!(
            versions.iter().any(|v| v == promised),
            "{promised} not in {versions:?}"
        );
    }
    let helm = Helm::new();
    let mut files = Vec::new();
    for (name, file) in values_sets() {
        let values: Vec<String> = file.into_iter().collect();
        let rendered = helm.template_with(&chart_dir(), &values).unwrap();
        let path = helm.dir.path().join(format!("rendered-{name}"));
        std::fs::write(&path, rendered).unwrap();
        files.push(path);
    }
    if let Err(e) = kubernetes_validate(&versions, &files) {
        panic!("{e}");
    }
}

/// The validator is strict and real: a wrong type, an unknown field and a removed API
/// version are refused.
#[test]
fn kubernetes_validate_refuses_a_broken_manifest() {
    let helm = Helm::new();
    let rendered = helm.template_with(&chart_dir(), &[]).unwrap();
    let cases = [
        (
            "containerPort: 8080",
            "containerPort: \"8080\"",
            "is not of type 'integer'",
        ),
        (
            "  replicas: 1\n",
            "  replicas: 1\n  replica: 1\n",
            "'replica' was unexpected",
        ),
        // Removed in Kubernetes 1.16: no schema, which the validator only warns about.
        (
            "apiVersion: apps/v1\n",
            "apiVersion: apps/v1beta2\n",
            "Couldn't find schema",
        ),
    ];
    let versions = kube_versions();
    for (from, to, message) in cases {
        assert!(
            rendered.contains(from),
            "the default render has no {from:?}"
        );
        let path = helm.dir.path().join("broken.yaml");
        std::fs::write(&path, rendered.replacen(from, to, 1)).unwrap();
        match kubernetes_validate(&versions, &[path]) {
            Ok(()) => panic!("kubernetes-validate passed {to:?}"),
            Err(out) => assert!(out.contains(message), "{out}"),
        }
    }
}

#[test]
fn helm_refuses_a_cluster_older_than_kube_version() {
    let helm = Helm::new();
    let chart = chart_dir();
    let out = helm.run(&[
        "template",
        "t",
        chart.to_str().unwrap(),
        "--kube-version",
        "1.28.9",
    ]);
    let refused = result(out).unwrap_err();
    assert!(refused.contains("chart requires kubeVersion"), "{refused}");
    // Managed clusters report pre-release versions, which the `-0` of the range admits.
    let out = helm.run(&[
        "template",
        "t",
        chart.to_str().unwrap(),
        "--kube-version",
        "v1.29.4-eks-036c24b",
    ]);
    result(out).unwrap();
}

#[test]
fn image_digest_pins_the_image_and_never_reaches_the_version_label() {
    let helm = Helm::new();
    let long_tag = format!("v1.2.3-{}", "a".repeat(100));
    // (values, expected image, expected version label)
    let cases = [
        (
            "image:\n  tag: v1.2.3".to_string(),
            format!("{REPOSITORY}:v1.2.3"),
            "v1.2.3".to_string(),
        ),
        (
            format!("image:\n  digest: {DIGEST}"),
            format!("{REPOSITORY}@{DIGEST}"),
            "v0.0.0-dev".to_string(),
        ),
        (
            format!("image:\n  tag: v1.2.3\n  digest: {DIGEST}"),
            format!("{REPOSITORY}:v1.2.3@{DIGEST}"),
            "v1.2.3".to_string(),
        ),
        // A tag longer than a label: cut to 63 characters, still valid.
        (
            format!("image:\n  tag: {long_tag}\n  digest: {DIGEST}"),
            format!("{REPOSITORY}:{long_tag}@{DIGEST}"),
            long_tag[..63].to_string(),
        ),
        // Cut where a label may not end: the trailing separators go.
        (
            format!(
                "image:\n  tag: v1.2.3-{}-{}",
                "b".repeat(55),
                "c".repeat(10)
            ),
            format!("{REPOSITORY}:v1.2.3-{}-{}", "b".repeat(55), "c".repeat(10)),
            format!("v1.2.3-{}", "b".repeat(55)),
        ),
    ];
    for (yaml, image, label) in cases {
        let manifests = helm.render(&yaml);
        assert_eq!(
            pod(&manifests)["containers"][0]["image"],
            image.as_str(),
            "{yaml}"
        );
        assert_eq!(
            test_pod(&manifests)["spec"]["containers"][0]["image"],
            image.as_str()
        );
        for found in version_labels(&manifests) {
            assert_eq!(found, label, "{yaml}");
        }
    }
}

/// An appVersion need not be a valid label value (`+` build metadata, `/`): the label is
/// made one.
#[test]
fn an_odd_app_version_still_makes_a_valid_version_label() {
    let helm = Helm::new();
    let chart = helm.dir.path().join("chart");
    copy_dir(&chart_dir(), &chart);
    let chart_yaml = chart.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml).unwrap();
    let cases = [
        ("v1.2.3+build/7", "v1.2.3_build_7"),
        ("-rc.1+", "rc.1"),
        ("@@@", ""),
    ];
    for (app_version, label) in cases {
        let stamped = text.replace(
            "appVersion: \"v0.0.0-dev\"",
            &format!("appVersion: \"{app_version}\""),
        );
        assert_ne!(
            stamped, text,
            "Chart.yaml has no appVersion line to replace"
        );
        std::fs::write(&chart_yaml, stamped).unwrap();
        let manifests = documents(&helm.template_with(&chart, &[]).unwrap());
        for found in version_labels(&manifests) {
            assert_eq!(found, label, "appVersion {app_version:?}");
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn openshift_values_render_no_uid_and_stay_hardened() {
    let helm = Helm::new();
    let openshift = chart_dir().join("ci/openshift-values.yaml");
    let yaml = std::fs::read_to_string(openshift).unwrap();
    let manifests = helm.render(&yaml);
    let test = &test_pod(&manifests)["spec"];
    let pods = [pod(&manifests), test];
    for spec in pods {
        let container = &spec["containers"][0]["securityContext"];
        for context in [&spec["securityContext"], container] {
            assert!(context.get("runAsUser").is_none(), "{context:?}");
            assert!(context.get("runAsGroup").is_none(), "{context:?}");
            assert_eq!(context["runAsNonRoot"], true);
        }
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(container["readOnlyRootFilesystem"], true);
        assert_eq!(container["allowPrivilegeEscalation"], false);
        assert_eq!(container["capabilities"]["drop"][0], "ALL");
    }
}

#[test]
fn service_account_is_created_named_or_left_to_the_namespace() {
    let helm = Helm::new();

    let manifests = helm.render("serviceAccount:\n  annotations:\n    iam.gke.io/gcp-service-account: proxy@example.iam.gserviceaccount.com");
    let account = object(&manifests, "ServiceAccount");
    assert_eq!(account["metadata"]["name"], "t-llm-proxy");
    assert_eq!(account["automountServiceAccountToken"], false);
    assert_eq!(
        account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"],
        "proxy@example.iam.gserviceaccount.com"
    );
    assert_eq!(pod(&manifests)["serviceAccountName"], "t-llm-proxy");
    assert_eq!(
        test_pod(&manifests)["spec"]["serviceAccountName"],
        "t-llm-proxy"
    );

    let manifests = helm.render("serviceAccount:\n  create: true\n  name: proxy");
    assert_eq!(
        object(&manifests, "ServiceAccount")["metadata"]["name"],
        "proxy"
    );
    assert_eq!(pod(&manifests)["serviceAccountName"], "proxy");

    let manifests = helm.render("serviceAccount:\n  create: false\n  name: existing");
    assert!(!has(&manifests, "ServiceAccount"));
    assert_eq!(pod(&manifests)["serviceAccountName"], "existing");

    let manifests = helm.render("serviceAccount:\n  create: false");
    assert!(!has(&manifests, "ServiceAccount"));
    assert_eq!(pod(&manifests)["serviceAccountName"], "default");
    assert_eq!(pod(&manifests)["automountServiceAccountToken"], false);
}

#[test]
fn pod_disruption_budget_renders_only_when_enabled_for_several_replicas() {
    let helm = Helm::new();
    let cases = [
        ("replicaCount: 3", None),
        (
            "replicaCount: 1\npodDisruptionBudget:\n  enabled: true",
            None,
        ),
        (
            "replicaCount: 3\npodDisruptionBudget:\n  enabled: true",
            Some(("minAvailable", Value::from(1))),
        ),
        (
            "replicaCount: 3\npodDisruptionBudget:\n  enabled: true\n  minAvailable: 50%",
            Some(("minAvailable", Value::from("50%"))),
        ),
        (
            "replicaCount: 2\npodDisruptionBudget:\n  enabled: true\n  maxUnavailable: 1",
            Some(("maxUnavailable", Value::from(1))),
        ),
    ];
    for (yaml, expected) in cases {
        let manifests = helm.render(yaml);
        let Some((field, value)) = expected else {
            assert!(!has(&manifests, "PodDisruptionBudget"), "{yaml}");
            continue;
        };
        let spec = &object(&manifests, "PodDisruptionBudget")["spec"];
        assert_eq!(spec[field], value, "{yaml}");
        // Kubernetes refuses a budget with both.
        let other = if field == "minAvailable" {
            "maxUnavailable"
        } else {
            "minAvailable"
        };
        assert!(spec.get(other).is_none(), "{yaml}: {spec:?}");
        let selector = &object(&manifests, "Deployment")["spec"]["selector"]["matchLabels"];
        assert_eq!(&spec["selector"]["matchLabels"], selector);
    }
}

#[test]
fn helm_test_pod_checks_the_service_with_the_service_image() {
    let helm = Helm::new();
    let manifests = helm.render("service:\n  port: 9090\nimagePullSecrets:\n  - name: registry");
    let test = test_pod(&manifests);
    let spec = &test["spec"];
    let container = &spec["containers"][0];
    assert_eq!(
        container["args"],
        serde_yaml::from_str::<Value>("[check, 'http://t-llm-proxy:9090/healthz']").unwrap()
    );
    let deployment = pod(&manifests);
    assert_eq!(container["image"], deployment["containers"][0]["image"]);
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(spec["imagePullSecrets"], deployment["imagePullSecrets"]);
    // As hardened as the service's own pod.
    assert_eq!(spec["securityContext"], deployment["securityContext"]);
    assert_eq!(
        container["securityContext"],
        deployment["containers"][0]["securityContext"]
    );
    assert_eq!(
        container["resources"],
        deployment["containers"][0]["resources"]
    );
    // Not a replica: the Deployment's selector must not match the test pod.
    let selector = object(&manifests, "Deployment")["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .unwrap();
    let labels = test["metadata"]["labels"].as_mapping().unwrap();
    assert!(
        selector.iter().any(|(k, v)| labels.get(k) != Some(v)),
        "the Deployment's selector {selector:?} matches the test pod's labels {labels:?}"
    );
}
