# Sourced by the measuring scripts: a local release environment in a scratch directory.
#
# Starts a real registry (Debian's docker-registry) on a free loopback port with its own
# configuration (never the package's default, which listens on all interfaces), clones HEAD
# into "$scratch/work" with a scratch bare repository as its origin, tags v9.9.9, and exports
# the settings that point xtask, helm and buildah at that registry. Everything is removed on
# exit. Needs the tools of scripts/install-test-tools.sh.
#
# Sets: repo, scratch, xtask, port.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
for tool in docker-registry helm buildah skopeo curl; do
	command -v "$tool" >/dev/null || { echo "$(basename "$0"): $tool is missing: run scripts/install-test-tools.sh" >&2; exit 1; }
done

# The binary measured is the one this build made, wherever CARGO_TARGET_DIR puts it:
# a stale $repo/target/debug/xtask would be measured silently otherwise.
cargo build --quiet --package xtask
xtask=${CARGO_TARGET_DIR:-$repo/target}/debug/xtask
scratch=$(mktemp -d)
registry_pid=
cleanup() {
	[[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
	rm -rf "$scratch"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$scratch/registry.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $scratch/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$scratch/registry.yml" >"$scratch/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

# A clone of HEAD whose origin is a scratch bare repository holding main and v9.9.9.
git init --quiet --bare "$scratch/remote.git"
git clone --quiet "$repo" "$scratch/work"
git -C "$scratch/work" remote set-url origin "$scratch/remote.git"
git -C "$scratch/work" push --quiet origin HEAD:refs/heads/main
git -C "$scratch/work" fetch --quiet origin
git -C "$scratch/work" -c user.name=measure -c user.email=measure@example.invalid tag -a v9.9.9 -m v9.9.9
git -C "$scratch/work" push --quiet origin v9.9.9

export RELEASE_IMAGE=127.0.0.1:$port/llm-proxy
export RELEASE_CHART_REGISTRY=oci://127.0.0.1:$port/charts
export RELEASE_PLAIN_HTTP=1 RELEASE_IMAGE_BUILDER=buildah RELEASE_DEFAULT_BRANCH=main RELEASE_REMOTE=origin
# Nothing here is attested (CI attests; the provenance tests sign offline), and checking
# provenance would ask GitHub for Sigstore's trusted root: the figures leave it out.
export RELEASE_PROVENANCE=0
export HELM_CACHE_HOME=$scratch/helm/cache HELM_CONFIG_HOME=$scratch/helm/config HELM_DATA_HOME=$scratch/helm/data
export REGISTRY_AUTH_FILE=$scratch/auth.json DOCKER_CONFIG=$scratch/docker
echo '{"auths":{}}' >"$REGISTRY_AUTH_FILE"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}/measure
unset RELEASE_REGISTRY_USER RELEASE_REGISTRY_PASSWORD GITHUB_ACTIONS
