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
# shellcheck source=scripts/lib/local-release.sh
source "$(dirname "$0")/lib/local-release.sh"

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
