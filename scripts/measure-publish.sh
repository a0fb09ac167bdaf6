#!/usr/bin/env bash
# Measures a whole local publish of v9.9.9 — chart plus two-platform image, built with
# buildah — against a real registry on 127.0.0.1 (target: under 10 s without `dist`).
#
# The binaries are cross-compiled first (`xtask dist`, timed apart), so the publish's own
# dist step finds them fresh; the figure printed is the publish without that step.
# Needs the tools of scripts/install-test-tools.sh; touches nothing outside a temporary
# directory (and target/measure for the cargo build cache).
#
# Usage: scripts/measure-publish.sh
set -Eeuo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
for tool in docker-registry helm buildah skopeo curl; do
	command -v "$tool" >/dev/null || { echo "measure-publish: $tool is missing: run scripts/install-test-tools.sh" >&2; exit 1; }
done

cargo build --quiet --package xtask
xtask=$repo/target/debug/xtask
scratch=$(mktemp -d)
registry_pid=
cleanup() {
	[[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
	rm -rf "$scratch"
}
trap cleanup EXIT

# The registry: its own config on a free loopback port (never the package's default config,
# which listens on all interfaces), storage in the scratch directory.
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

# A clone of HEAD, tagged, whose main is HEAD (so `latest` is pushed too).
git clone --quiet "$repo" "$scratch/work"
git -C "$scratch/work" update-ref refs/remotes/origin/main HEAD
git -C "$scratch/work" -c user.name=measure -c user.email=measure@example.invalid tag -a v9.9.9 -m v9.9.9

export RELEASE_IMAGE=127.0.0.1:$port/llm-proxy
export RELEASE_CHART_REGISTRY=oci://127.0.0.1:$port/charts
export RELEASE_PLAIN_HTTP=1 RELEASE_IMAGE_BUILDER=buildah
export HELM_CACHE_HOME=$scratch/helm/cache HELM_CONFIG_HOME=$scratch/helm/config HELM_DATA_HOME=$scratch/helm/data
export REGISTRY_AUTH_FILE=$scratch/auth.json DOCKER_CONFIG=$scratch/docker
echo '{"auths":{}}' >"$REGISTRY_AUTH_FILE"
export CARGO_TARGET_DIR=$repo/target/measure
unset RELEASE_REGISTRY_USER RELEASE_REGISTRY_PASSWORD GITHUB_ACTIONS

now() { date +%s.%N; }
commit=$(git -C "$scratch/work" rev-parse HEAD)
start=$(now)
LLM_PROXY_VERSION=v9.9.9 LLM_PROXY_COMMIT=$commit "$xtask" -C "$scratch/work" dist >/dev/null 2>&1
dist=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')

start=$(now)
"$xtask" -C "$scratch/work" release publish v9.9.9 >"$scratch/publish.out" 2>"$scratch/publish.err" || {
	cat "$scratch/publish.err" >&2
	exit 1
}
total=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')
# The publish's own dist step (binaries already fresh): its header, a nested cargo step,
# then its own "done in".
inner=$(awk '/^==> LLM_PROXY_VERSION=/ { on = 1; n = 0; next }
	on && /^    (done|failed) in / { n++; if (n == 2) { sub(/^    (done|failed) in /, ""); sub(/s$/, ""); print; exit } }' "$scratch/publish.err")
without=$(awk -v t="$total" -v d="${inner:-0}" 'BEGIN { print t - d }')

cat "$scratch/publish.out"
printf 'dist (both platforms, warm cache):         %6.2f s\n' "$dist"
printf 'publish chart + 2-platform image, total:   %6.2f s\n' "$total"
printf 'publish without its dist step:             %6.2f s (target < 10 s)\n' "$without"
awk -v w="$without" 'BEGIN { exit !(w < 10) }' || { echo "measure-publish: 10 s exceeded" >&2; exit 1; }
