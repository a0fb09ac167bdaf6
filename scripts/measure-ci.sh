#!/usr/bin/env bash
# Measures `.ci/run` as CI meets it: a fresh clone of this checkout's HEAD (or of REV), its
# own empty target directory, then every phase of its `.ci/run` (the tool install,
# `cargo xtask ci`, `cargo test --workspace`, the real-tools tests) in wall seconds and CPU
# seconds (user + sys of every process the phase waited for). Then, unless --no-slowest, the
# real-tools suite once more, one test at a time, for the time of each test: the ten slowest
# (every test with --every-test) and the sum. Prints figures; asserts nothing. The CPU seconds are the fair figure on a
# shared machine; the wall seconds hold only when nothing else runs (the load is printed).
#
# Usage: scripts/measure-ci.sh [--no-slowest | --slowest-only] [--every-test] [REV]
# Needs the tools of scripts/install-test-tools.sh (which `.ci/run` runs anyway) and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

slowest=yes phases=yes most=10
while [[ $# -gt 0 && $1 == --* ]]; do
	case $1 in
	--no-slowest) slowest=no ;;
	--slowest-only) phases=no ;;
	--every-test) most=0 ;;
	*) echo "measure-ci: unknown option $1 (accepted: --no-slowest, --slowest-only, --every-test)" >&2; exit 2 ;;
	esac
	shift
done
rev=${1:-HEAD}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git clone --quiet --no-hardlinks "$root" "$scratch/clone"
git -C "$scratch/clone" checkout --quiet --detach "$(git -C "$root" rev-parse "$rev^{commit}")"
# The clone's own target/, as on a CI runner; the cargo registry cache stays warm (a runner
# downloads the crates as well, which this does not measure).
unset CARGO_TARGET_DIR

echo "measure-ci: $(git -C "$scratch/clone" log -1 --format='%h %s') on $(nproc) cores"
echo "measure-ci: load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# One driver for both measurements: it reads the child's output as it comes and stamps it.
# Phases: `.ci/run` prints `==> ` before each phase, after the previous phase's process was
# waited for, so the CPU the run's shell has collected from its children by then (cutime,
# cstime) is exactly what the phases before cost. Tests: libtest with one thread prints
# `test NAME ... ` (flushed) when a test starts and its result when it ends.
cat >"$scratch/measure.py" <<'PY'
import os, re, subprocess, sys, time

TICK = os.sysconf("SC_CLK_TCK")

def children_cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / TICK

def phases(log_path, argv):
    # The phases are the `echo "==> …"` lines of the script itself, in order: the commands it
    # runs print `==> ` lines of their own (`cargo xtask ci` for each of its steps).
    script = open(argv[-1]).read()
    headers = [h.encode() for h in re.findall(r'^echo "(==> .*)"$', script, re.M)]
    log = open(log_path, "wb")
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    marks = [("(start)", time.monotonic(), 0.0)]
    for line in child.stdout:
        log.write(line)
        log.flush()
        if len(marks) - 1 < len(headers) and line.rstrip(b"\n") == headers[len(marks) - 1]:
            marks.append((line[4:].decode(errors="replace").strip(), time.monotonic(), children_cpu(child.pid)))
    _, status, usage = os.wait4(child.pid, 0)
    marks.append(("(end)", time.monotonic(), usage.ru_utime + usage.ru_stime))
    print(f"{'phase':<72} {'wall s':>7} {'CPU s':>7}")
    for (name, t0, c0), (_, t1, c1) in zip(marks[1:], marks[2:]):
        print(f"{name[:72]:<72} {t1 - t0:7.1f} {c1 - c0:7.1f}")
    total = lambda first: (marks[-1][1] - marks[first][1], marks[-1][2] - marks[first][2])
    wall, cpu = total(1)
    print(f"{'all phases':<72} {wall:7.1f} {cpu:7.1f}")
    if len(marks) > 3:
        wall, cpu = total(2)
        print(f"{'all phases but the first (the tool install)':<72} {wall:7.1f} {cpu:7.1f}")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f".ci/run failed with exit {code}: see the log; the figures above are partial")
    return code

def tests(log_path, argv):
    log = open(log_path, "wb")
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    start = re.compile(rb"test (\S+) \.\.\. ")
    end = re.compile(rb"(ok|FAILED|ignored)\n")
    pending, name, began, times = b"", None, 0.0, []
    while chunk := os.read(child.stdout.fileno(), 65536):
        now = time.monotonic()
        log.write(chunk)
        log.flush()
        pending += chunk
        while True:
            if name is None:
                m = start.search(pending)
                if not m:
                    pending = pending[-4096:]
                    break
                name, began, pending = m.group(1).decode(), now, pending[m.end():]
            else:
                # The result may follow what a tool wrote past libtest's capture.
                m = end.search(pending)
                if not m:
                    pending = pending[-4096:]
                    break
                times.append((now - began, name, m.group(1).decode()))
                name, pending = None, pending[m.end():]
    _, status, usage = os.wait4(child.pid, 0)
    times.sort(reverse=True)
    most = int(os.environ["MEASURE_MOST"]) or len(times)
    print(f"{len(times)} tests, one at a time: {sum(t for t, _, _ in times):.0f} s in tests, "
          f"{usage.ru_utime + usage.ru_stime:.0f} CPU s in all; the {most} slowest:")
    for seconds, test, result in times[:most]:
        print(f"  {seconds:6.1f} s  {test}{'' if result == 'ok' else '  ' + result}")
    return os.waitstatus_to_exitcode(status)

mode, log_path, *argv = sys.argv[1:]
sys.exit({"phases": phases, "tests": tests}[mode](log_path, argv))
PY

cd "$scratch/clone"
code=0
if [[ $phases == yes ]]; then
	echo "measure-ci: .ci/run (its output: $scratch/ci-run.log while this runs)"
	python3 "$scratch/measure.py" phases "$scratch/ci-run.log" bash .ci/run || code=$?
	if [[ $code -ne 0 ]]; then tail -40 "$scratch/ci-run.log"; fi
	echo "measure-ci: load after .ci/run: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
if [[ $slowest == yes && $code -eq 0 ]]; then
	echo "measure-ci: the real-tools suite one test at a time (its command in .ci/run, --test-threads=1)"
	# The command .ci/run runs, whatever it filters, with one test thread added.
	command=$(grep -E '^cargo test .*--features real-tools' .ci/run)
	read -r -a argv <<<"$command"
	if [[ " ${argv[*]} " != *" -- "* ]]; then argv+=(--); fi
	# Built first (a no-op after .ci/run), so that the CPU figure is the tests' alone.
	build=()
	for arg in "${argv[@]}"; do [[ $arg == -- ]] && break; build+=("$arg"); done
	"${build[@]}" --no-run --quiet
	argv+=(--test-threads=1)
	MEASURE_MOST=$most python3 "$scratch/measure.py" tests "$scratch/tests.log" "${argv[@]}" || code=$?
	if [[ $code -ne 0 ]]; then tail -40 "$scratch/tests.log"; fi
	echo "measure-ci: load after the tests: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
exit "$code"
