#!/usr/bin/env bash
# Measures what xtask costs a newcomer: its cold build beside the same crate, same source,
# with its dependencies declared the naive way (default features, clap derive, serde derive,
# no profile settings), and a warm `release plan`.
# Prints figures; asserts nothing. Usage: scripts/measure-xtask-build.sh [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# The baseline: this very workspace and xtask source, with xtask's dependencies written the
# way most projects write them (default features, clap and serde derive) and no profile
# settings. Only the manifests differ, so the figure is what our choices there buy.
mkdir -p "$scratch/baseline"
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$scratch/baseline")
python3 - "$scratch/baseline" <<'PY'
import re, sys
base = sys.argv[1]
root = open(f"{base}/Cargo.toml").read()
# Drop every [profile.*] table: the naive setup has none.
root = re.sub(r"(?ms)^(# [^\n]*\n)*\[profile\.[^\n]*\n.*?(?=^\[(?!profile)|\Z)", "", root)
open(f"{base}/Cargo.toml", "w").write(root)
xtask = open(f"{base}/xtask/Cargo.toml").read()
naive = """[dependencies]
clap = { version = "4.5", features = ["derive"] }
xshell = "0.2"
semver = { version = "1", features = ["serde"] }
serde = { version = "1", features = ["derive"] }
serde_yaml = "0.9"
toml_edit = "0.25"
anyhow = "1"
which = "8"
signal-hook = "0.4"

"""
xtask = re.sub(r"(?ms)^\[dependencies\]\n.*?(?=^\[)", naive, xtask)
open(f"{base}/xtask/Cargo.toml", "w").write(xtask)
PY
grep -q '^\[profile' "$scratch/baseline/Cargo.toml" && { echo "measure: the baseline still has profile settings" >&2; exit 1; }
(cd "$scratch/baseline" && cargo fetch --quiet)
(cd "$root" && cargo fetch --quiet --locked)

# Cold builds are noisy on a shared 2-core machine: alternate the two, several rounds, and
# compare medians.
rounds=${1:-3}
ours_ms=() baseline_ms=()
for round in $(seq "$rounds"); do
    rm -rf "$scratch/target-xtask" "$scratch/target-baseline"
    start=$(date +%s%N)
    (cd "$root" && CARGO_TARGET_DIR="$scratch/target-xtask" cargo build --quiet --locked -p xtask)
    ours_ms+=("$(ms "$start")")
    start=$(date +%s%N)
    (cd "$scratch/baseline" && CARGO_TARGET_DIR="$scratch/target-baseline" cargo build --quiet -p xtask)
    baseline_ms+=("$(ms "$start")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ours=$(median "${ours_ms[@]}")
baseline=$(median "${baseline_ms[@]}")
echo "cold builds on $(nproc) cores, each into an empty target directory, median of $rounds rounds:"
echo "  xtask:                                  ${ours} ms   (runs: ${ours_ms[*]})"
echo "  same crate, naive manifest:            ${baseline} ms   (runs: ${baseline_ms[*]})"
awk -v a="$ours" -v b="$baseline" 'BEGIN { printf "  ratio: %.2f (goal: at most 0.55)\n", a / b }'

# Warm run: the binary is built; time `release plan` on this repository.
xtask="$scratch/target-xtask/debug/xtask"
runs=()
for _ in $(seq 21); do
    start=$(date +%s%N)
    "$xtask" -C "$root" release plan v1.2.3 >/dev/null 2>&1
    runs+=("$(( ($(date +%s%N) - start) / 1000 ))")
done
median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 11p)
awk -v us="$median" 'BEGIN { printf "warm `xtask release plan v1.2.3`: median of 21 runs %.1f ms (goal: under 20 ms)\n", us / 1000 }'
