//! The docker builder (the default, what GitHub Actions has), through the real docker CLI.
//!
//! `docker buildx` cannot run here: there is no Docker daemon and no buildx plugin in the
//! package registries this machine reaches. So the real docker CLI (28.x) runs a recording
//! `docker-buildx` plugin from `$DOCKER_CONFIG/cli-plugins`: it logs the argv xtask gave
//! docker and does the job with skopeo, from an OCI layout that buildah built for the same
//! release. What is tested is the exact buildx command lines, their order, and that the
//! registry ends with every tag on one digest; not buildx itself.

use super::{Env, Registry, build_slot, release_project, require};

const FAKE_BUILDX: &str = r#"#!/bin/sh
# A recording stand-in for `docker buildx` (see the test's module comment).
set -e
if [ "$1" = docker-cli-plugin-metadata ]; then
	echo '{"SchemaVersion":"0.1.0","Vendor":"llm-proxy tests","Version":"v0.0.0-fake","ShortDescription":"recording buildx stand-in"}'
	exit 0
fi
printf '%s\n' "$*" >>"$FAKE_BUILDX_LOG"
shift # the plugin's own name, "buildx"
case "$1" in
inspect)
	# A builder exists once `create` made it.
	[ -e "$FAKE_BUILDX_LOG.builder-$2" ]
	;;
create)
	touch "$FAKE_BUILDX_LOG.builder-$3"
	;;
build)
	for arg; do
		case "$arg" in
		type=oci,dest=*)
			dest=${arg#type=oci,dest=}
			dest=${dest%%,*}
			rm -rf "$dest"
			cp -r "$FAKE_BUILDX_LAYOUT" "$dest"
			;;
		type=image,name=*)
			ref=${arg#type=image,name=}
			ref=${ref%%,*}
			skopeo copy --quiet --all --dest-tls-verify=false "oci:$FAKE_BUILDX_LAYOUT" "docker://$ref" >&2
			;;
		esac
	done
	;;
imagetools)
	# imagetools create --builder NAME --tag TARGET SOURCE
	skopeo copy --quiet --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false "docker://$7" "docker://$6" >&2
	;;
esac
"#;

#[test]
fn docker_builder_runs_buildx_build_then_imagetools_by_digest() {
    let _slot = build_slot();
    require("docker");
    require("skopeo");
    let registry = Registry::start();
    let project = release_project();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let commit = project.git(&["rev-parse", "HEAD"]);
    let mut env = Env::new(&registry.host);

    // The image the fake plugin hands out: buildah's build of this very release.
    env.xtask(
        &project,
        &[
            "release",
            "publish",
            "v1.2.3",
            "--only",
            "image",
            "--no-push",
        ],
    )
    .success();
    let layout = env.dir.path().join("layout");
    std::fs::rename(project.work.join("dist/image"), &layout).unwrap();

    let plugins = env.dir.path().join("docker/cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let plugin = plugins.join("docker-buildx");
    std::fs::write(&plugin, FAKE_BUILDX).unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let log = env.dir.path().join("buildx.log");
    env.set("FAKE_BUILDX_LOG", log.to_str().unwrap());
    env.set("FAKE_BUILDX_LAYOUT", layout.to_str().unwrap());
    env.set("RELEASE_IMAGE_BUILDER", "docker");

    env.xtask(
        &project,
        &["release", "publish", "v1.2.3", "--only", "image"],
    )
    .success();
    let digest = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let host = &registry.host;
    // xtask's own builder, on the pinned BuildKit; the host's network reaches the registry on
    // its loopback.
    let builder = "llm-proxy-buildkit-28a89871-host";
    let build = format!(
        "buildx build --builder {builder} --platform linux/amd64,linux/arm64 --build-arg VERSION=v1.2.3 --build-arg REVISION={commit} --build-arg SOURCE=https://github.com/sofatutor/llm-proxy --build-arg SOURCE_DATE_EPOCH=1767225600"
    );
    let expected = [
        format!("buildx inspect {builder}"),
        format!(
            "buildx create --name {builder} --driver docker-container --driver-opt image=moby/buildkit:v0.32.2@sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8 --driver-opt network=host --bootstrap"
        ),
        format!("{build} --output type=oci,dest=dist/image,tar=false,rewrite-timestamp=true ."),
        format!(
            "{build} --output type=image,name={host}/llm-proxy:v1.2.3,push=true,rewrite-timestamp=true,registry.insecure=true ."
        ),
        format!(
            "buildx imagetools create --builder {builder} --tag {host}/llm-proxy:sha-{} {host}/llm-proxy@{digest}",
            &commit[..7]
        ),
        format!(
            "buildx imagetools create --builder {builder} --tag {host}/llm-proxy:1.2 {host}/llm-proxy@{digest}"
        ),
        format!(
            "buildx imagetools create --builder {builder} --tag {host}/llm-proxy:latest {host}/llm-proxy@{digest}"
        ),
    ];
    assert_eq!(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        expected
    );
    for tag in ["1.2", "latest"] {
        assert_eq!(registry.digest("llm-proxy", tag), Some(digest.clone()));
    }

    // The re-run finds the builder, builds locally, finds every tag in place, and pushes
    // nothing.
    std::fs::remove_file(&log).unwrap();
    env.xtask(
        &project,
        &["release", "publish", "v1.2.3", "--only", "image"],
    )
    .success();
    assert_eq!(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        [expected[0].as_str(), expected[2].as_str()]
    );
}
