#!/usr/bin/env bash
# Measures `release verify` of a release with four image tags and a chart against a real
# registry on 127.0.0.1 (target: under 2 s), and how close the whole comes to its slowest
# source (target: at most 1.5×, since the sources are asked in parallel).
#
# Publishes v9.9.9 of a clone of HEAD first (buildah, helm), with a bare repository as its
# remote. Needs the tools of scripts/install-test-tools.sh; touches nothing outside a
# temporary directory (and target/measure for the cargo build cache).
#
# Usage: scripts/measure-verify.sh [RUNS]
set -Eeuo pipefail
runs=${1:-7}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
for tool in docker-registry helm buildah skopeo curl; do
	command -v "$tool" >/dev/null || { echo "measure-verify: $tool is missing: run scripts/install-test-tools.sh" >&2; exit 1; }
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
export HELM_CACHE_HOME=$scratch/helm/cache HELM_CONFIG_HOME=$scratch/helm/config HELM_DATA_HOME=$scratch/helm/data
export REGISTRY_AUTH_FILE=$scratch/auth.json DOCKER_CONFIG=$scratch/docker
echo '{"auths":{}}' >"$REGISTRY_AUTH_FILE"
export CARGO_TARGET_DIR=$repo/target/measure
unset RELEASE_REGISTRY_USER RELEASE_REGISTRY_PASSWORD GITHUB_ACTIONS

echo "publishing v9.9.9 to 127.0.0.1:$port (not timed)"
"$xtask" -C "$scratch/work" release publish v9.9.9 >/dev/null 2>"$scratch/publish.log" || { cat "$scratch/publish.log" >&2; exit 1; }
tags=$(curl -fsS "http://127.0.0.1:$port/v2/llm-proxy/tags/list")
echo "image tags: $tags"

results=()
for i in $(seq "$runs"); do
	start=$(date +%s%N)
	"$xtask" -C "$scratch/work" release verify 9.9.9 >"$scratch/verify.out" 2>"$scratch/verify.err" || { cat "$scratch/verify.out" "$scratch/verify.err" >&2; exit 1; }
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	# "asked in parallel: git 0.05s, image 0.20s, chart 0.31s; verification took 0.33s"
	slowest=$(grep -o 'asked in parallel: [^;]*' "$scratch/verify.err" | grep -oE '[0-9]+\.[0-9]+' | sort -n | tail -1)
	results+=("$ms $slowest")
done
checks=$(grep -c '^✓' "$scratch/verify.out")
echo "checks passed: $checks"
grep 'asked in parallel' "$scratch/verify.err" | sed 's/^/last run: /'
printf '%s\n' "${results[@]}" | sort -n | awk -v n="$runs" '
	{ ms[NR] = $1; slow[NR] = $2 }
	END {
		m = int((n + 1) / 2)
		printf "release verify 9.9.9: median of %d runs %d ms (goal: under 2000 ms)\n", n, ms[m]
		printf "slowest single source in that run: %d ms; whole / slowest = %.2f (goal: at most 1.5)\n", slow[m] * 1000, ms[m] / (slow[m] * 1000)
	}'
