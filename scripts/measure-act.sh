#!/usr/bin/env bash
# Measures a release's latency under act (nektos/act, host mode) on this machine: the
# committed workflow files run by xtask/tests/it/real/act.rs, from the push of v1.2.3 to
# its last artifact (the chart's attestation) and from the push of v1.2.3-stable to its
# GitHub release, with every job's and step's time as act reports it.
#
# It runs the act test that does both (it also asserts everything it checks) and prints
# the figures the test writes on stderr, then the test's wall and CPU time. The release
# binaries are cached in target/real-tools, as for every real-tools test: run it twice and
# read the second run for a warm cache (what CI has after the first real-tools test).
# Say how loaded the machine was (`uptime`) when quoting the figures.
#
# Usage: scripts/measure-act.sh
set -Eeuo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
uptime
/usr/bin/time -f 'whole test: %e s wall, %U s user, %S s sys' \
	cargo test -p xtask --features real-tools --locked --test it -- \
	real::act::a_version_tag_publishes_everything_attested_and_its_promotion_makes_one_release \
	--exact --nocapture >"$log" 2>&1 || { tail -n 60 "$log" >&2; exit 1; }
grep -E '^act:|^whole test:' "$log"
uptime
