#!/usr/bin/env bash
# Measures `release status` of 20 published versions against a real registry on 127.0.0.1
# (goal: under 2 s): wall time and CPU time (user + sys, of xtask and every tool it starts).
#
# Publishes v9.9.9 of a clone of HEAD first (buildah, helm), then makes 19 more published
# versions v1.0.0 … v1.0.18 on the same commit without building: the image copied by digest
# (skopeo), the chart packaged with that version and pushed (helm), `1.0` on the newest. Every
# version verifies, so each is asked everything `release verify` asks. Needs the tools of
# scripts/install-test-tools.sh; touches nothing outside a temporary directory (and
# target/measure for the cargo build cache).
#
# Usage: scripts/measure-status.sh [RUNS]
set -Eeuo pipefail
runs=${1:-5}
# shellcheck source=scripts/lib/local-release.sh
source "$(dirname "$0")/lib/local-release.sh"

echo "publishing v9.9.9 and 19 copies to 127.0.0.1:$port (not timed)"
"$xtask" -C "$scratch/work" release publish v9.9.9 >/dev/null 2>"$scratch/publish.log" || { cat "$scratch/publish.log" >&2; exit 1; }
copy() { skopeo copy --all --preserve-digests --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$RELEASE_IMAGE:$1" "docker://$RELEASE_IMAGE:$2"; }
# The copies are packaged from the chart v9.9.9 published (a publish leaves the work tree's
# chart unstamped, so its default image would not be the registry's: every copy broken).
mkdir -p "$scratch/charts" "$scratch/pulled"
helm pull --plain-http "$RELEASE_CHART_REGISTRY/llm-proxy" --version 9.9.9 --untar --untardir "$scratch/pulled" >/dev/null
for n in $(seq 0 18); do
	version=1.0.$n
	copy v9.9.9 "v$version"
	helm package --version "$version" --app-version "v$version" --destination "$scratch/charts" "$scratch/pulled/llm-proxy" >/dev/null
	helm push --plain-http "$scratch/charts/llm-proxy-$version.tgz" "$RELEASE_CHART_REGISTRY" >/dev/null 2>&1
	git -C "$scratch/work" -c user.name=measure -c user.email=measure@example.invalid tag -a "v$version" -m "v$version"
done
copy v9.9.9 1.0
git -C "$scratch/work" push --quiet origin --tags

results=()
for i in $(seq "$runs"); do
	start=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$scratch/cpu" "$xtask" -C "$scratch/work" release status >"$scratch/status.out" 2>"$scratch/status.err" || { cat "$scratch/status.out" "$scratch/status.err" >&2; exit 1; }
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	cpu=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$scratch/cpu")
	results+=("$ms $cpu")
done
echo "versions shown: $(( $(wc -l <"$scratch/status.out") - 1 )), states: $(awk 'NR > 1 { print $NF }' "$scratch/status.out" | sort | uniq -c | xargs)"
sed 's/^/last run: /' "$scratch/status.err"
printf '%s\n' "${results[@]}" | sort -n | awk -v n="$runs" -v cores="$(nproc)" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
	{ ms[NR] = $1; cpu[NR] = $2 }
	END {
		m = int((n + 1) / 2)
		printf "release status (20 versions): median of %d runs %d ms wall (goal: under 2000 ms), %d ms CPU user+sys; %d cores, load %s when done\n", n, ms[m], cpu[m], cores, load
	}'
