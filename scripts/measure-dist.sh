#!/usr/bin/env bash
# Measures what the arm64 image costs on top of the amd64 one: the time of a cold
# `cargo xtask dist` for linux/amd64 alone against both platforms (the target is at most
# 2.2 times the amd64-only build, which holds because nothing is emulated).
#
# Each build starts from an empty target directory (the standard library is precompiled, so
# a cold build is the service crate and its dependencies), three runs each, medians printed.
#
# Usage: scripts/measure-dist.sh [RUNS]
set -Eeuo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}

cargo build --quiet --package xtask
xtask=$PWD/target/debug/xtask
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Prints the seconds one cold `xtask dist` takes with the given arguments.
time_dist() {
	local dir
	dir=$(mktemp -d "$scratch/target.XXXXXX")
	local start end
	start=$(date +%s.%N)
	CARGO_TARGET_DIR=$dir "$xtask" dist "$@" >/dev/null 2>&1
	end=$(date +%s.%N)
	rm -rf "$dir"
	awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

amd64=$(for _ in $(seq "$runs"); do time_dist --platform linux/amd64; done | median)
both=$(for _ in $(seq "$runs"); do time_dist --platform linux/amd64 --platform linux/arm64; done | median)
ratio=$(awk -v a="$amd64" -v b="$both" 'BEGIN { print b / a }')

printf 'dist linux/amd64:             %6.2f s (median of %d cold builds)\n' "$amd64" "$runs"
printf 'dist linux/amd64,linux/arm64: %6.2f s (median of %d cold builds)\n' "$both" "$runs"
printf 'ratio both/amd64:             %6.2f (target <= 2.2)\n' "$ratio"
awk -v r="$ratio" 'BEGIN { exit !(r <= 2.2) }' || { echo "measure-dist: ratio above 2.2" >&2; exit 1; }
