#!/usr/bin/env bash
# Measures how `release tag --dry-run` and `release promote --dry-run` scale with the number
# of tags: a scratch repository with 10 and with 10,000 annotated version tags (and a bare
# remote holding them all), each command run several times, the median printed per size,
# and the ratio. The contract: 10,000 tags take at most 2x the time of 10.
#
# Usage: scripts/measure-tag-scaling.sh [RUNS]   (default 9 runs per figure)
#        KEEP=1 scripts/measure-tag-scaling.sh   keeps the scratch repositories for a look.
# Prints figures only; it asserts nothing, because wall-clock time is not a test.
#
# What the code's choices rest on, measured with this script's repositories (10,000 tags,
# unoptimised xtask, 2-core machine, 2026-11):
# - local tag names: `git rev-parse --symbolic --glob` about 3.5 ms (2 ms with 10 tags),
#   `git for-each-ref --format=%(refname:strip=2)` about 10 ms, peeling every tag with
#   `%(*objectname)` about 85 ms (git.rs `tag_names`);
# - `git ls-remote` of two refs: about 35 ms against 6 ms with 10 tags, because git filters
#   ls-remote patterns on the client and the remote sends every ref (tag/push_io.rs);
# - the tag grammar's accepting path: 10,000 names in about 4 ms, against 9 ms through the
#   checks that explain a rejection (tag/grammar.rs `release_tag`).
set -euo pipefail

runs=${1:-9}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --package xtask --manifest-path "$root/Cargo.toml"
xtask="$root/target/debug/xtask"

# Hermetic git: nothing from this machine's configuration may change the figures.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Release Tester" GIT_AUTHOR_EMAIL="tester@example.invalid"
export GIT_COMMITTER_NAME="Release Tester" GIT_COMMITTER_EMAIL="tester@example.invalid"
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
unset RELEASE_REMOTE RELEASE_DEFAULT_BRANCH RELEASE_GIT_TIMEOUT GITHUB_ACTIONS

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tag-scaling.XXXXXX")
[ -z "${KEEP:-}" ] || echo "scratch repositories kept in $scratch"
trap '[ -n "${KEEP:-}" ] || rm -rf "$scratch"' EXIT

# Builds $scratch/N/work (a clone on main, equal to origin/main) and $scratch/N/remote.git,
# both holding N-1 tags v0.I.0 plus v1.0.0, all annotated and packed.
make_repo() {
    local n=$1 dir="$scratch/$1"
    mkdir -p "$dir/work"
    cd "$dir/work"
    git init --quiet --initial-branch=main
    cat > Cargo.toml <<'TOML'
[workspace]
members = []
resolver = "3"

[workspace.metadata.release]
image = "ghcr.io/sofatutor/llm-proxy"
chart = "charts/llm-proxy"
chart-registry = "oci://ghcr.io/sofatutor/charts"
platforms = ["linux/amd64", "linux/arm64"]
default-branch = "main"
remote = "origin"
github-repo = "sofatutor/llm-proxy"
TOML
    git add Cargo.toml
    git commit --quiet -m "initial commit"
    local head
    head=$(git rev-parse HEAD)
    # fast-import writes every tag object and ref in one process: `git tag` in a loop would
    # spawn 10,000 processes.
    {
        local i message
        for ((i = 0; i < n; i++)); do
            message="Release v0.$i.0"
            ((i == n - 1)) && message="Release v1.0.0"
            printf 'tag %s\nfrom %s\ntagger Release Tester <tester@example.invalid> 1767225600 +0000\ndata %d\n%s\n' \
                "${message#Release }" "$head" "${#message}" "$message"
        done
    } | git fast-import --quiet
    git pack-refs --all
    git clone --quiet --bare "$dir/work" "$dir/remote.git"
    git remote add origin "$dir/remote.git"
    git fetch --quiet origin
    git branch --quiet --set-upstream-to=origin/main
    test "$(git tag | wc -l)" -eq "$n"
    cd "$root"
}

# Milliseconds one run of COMMAND… takes.
ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# Runs a command in the 10-tag and the 10,000-tag clone alternately, so that a change in
# the machine's load hits both sizes alike, and stores both medians in the named array.
measure() {
    local -n result=$1
    shift
    local small=() large=()
    for n in 10 10000; do "$@" "$scratch/$n/work" >/dev/null 2>&1 || true; done # warm up
    for ((r = 0; r < runs; r++)); do
        small+=("$(ms "$@" "$scratch/10/work")")
        large+=("$(ms "$@" "$scratch/10000/work")")
    done
    result[10]=$(median "${small[@]}")
    result[10000]=$(median "${large[@]}")
}

tag_dry_run() { "$xtask" -C "$1" release tag 2.0.0 --dry-run --no-checks; }
promote_dry_run() { "$xtask" -C "$1" release promote 1.0.0 --dry-run; }
# The floor: git ls-remote filters its patterns on the client, so the remote advertises
# every ref whatever is asked (GIT_TRACE_PACKET=1 shows no ref-prefix for ls-remote
# patterns; --tags sends only `ref-prefix refs/tags/`, which every tag here matches), and the
# client reads them two syscalls per pkt-line. xtask asks it beside its local reads, so a
# command takes at least this figure plus xtask's own start: with 10,000 tags that alone can
# exceed twice a whole 10-tag run of promote, whose other work is a few git calls.
ls_remote() { git -C "$1" ls-remote origin refs/tags/v1.0.0 'refs/tags/v1.0.0^{}'; }

for n in 10 10000; do
    make_repo "$n"
    # Both must succeed: a dry run that fails early would measure nothing.
    tag_dry_run "$scratch/$n/work" >/dev/null 2>&1
    promote_dry_run "$scratch/$n/work" >/dev/null 2>&1
done
declare -A tag_ms promote_ms ls_remote_ms
measure tag_ms tag_dry_run
measure promote_ms promote_dry_run
measure ls_remote_ms ls_remote

row() {
    local -n figures=$2
    awk -v name="$1" -v a="${figures[10]}" -v b="${figures[10000]}" \
        'BEGIN { printf "%-28s %6d ms %9d ms %7.2fx\n", name, a, b, (a == 0 ? 0 : b / a) }'
}
printf 'median of %d runs, git %s\n' "$runs" "$(git --version | cut -d' ' -f3)"
printf '%-28s %9s %12s %8s\n' "" "10 tags" "10000 tags" ratio
row "release tag --dry-run" tag_ms
row "release promote --dry-run" promote_ms
row "git ls-remote (alone)" ls_remote_ms
