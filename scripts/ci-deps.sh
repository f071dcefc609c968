#!/usr/bin/env bash
# ci-deps.sh — install what Sportello's build and tests need, idempotently.
#
# Used by CI and by `make`. Every step checks first and does nothing when the
# dependency is already there, so running it twice is cheap.
#
# Each dependency is one small function; to add one (e.g. an IMAP server for
# integration tests), write `need_<thing>` and call it from main.
#
# Environment:
#   SKIP_APT=1   never call apt-get (print what is missing and fail instead)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APT_UPDATED=0

log()  { printf 'ci-deps: %s\n' "$*"; }
die()  { printf 'ci-deps: ERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# apt_install PKG... — install Debian packages, running `apt-get update` once.
apt_install() {
	if [ "${SKIP_APT:-}" = "1" ]; then
		die "missing: $* (SKIP_APT=1, install them by hand: apt-get install -y $*)"
	fi
	have apt-get || die "apt-get not found: install $* with your system's package manager"
	local sudo=""
	if [ "$(id -u)" != "0" ]; then
		have sudo || die "need root (or sudo) to install: $*"
		sudo="sudo"
	fi
	if [ "$APT_UPDATED" = "0" ]; then
		log "apt-get update"
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
		APT_UPDATED=1
	fi
	log "apt-get install -y $*"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# need_chromium — headless Chromium for internal/browsertest (chromedp).
need_chromium() {
	if [ -n "${SPORTELLO_CHROMIUM:-}" ] && [ -x "${SPORTELLO_CHROMIUM}" ]; then
		log "chromium: using SPORTELLO_CHROMIUM=${SPORTELLO_CHROMIUM}"
		return
	fi
	local b
	for b in chromium chromium-browser google-chrome; do
		if have "$b"; then
			log "chromium: found $(command -v "$b")"
			return
		fi
	done
	apt_install chromium
	have chromium || die "chromium still missing after apt-get install"
	log "chromium: installed $(chromium --version 2>/dev/null || echo '?')"
}

# need_fonts — at least one font, so that headless Chromium renders text in
# screenshots (axe's contrast checks work either way).
need_fonts() {
	if have fc-list && [ -n "$(fc-list 2>/dev/null | head -n 1)" ]; then
		log "fonts: found $(fc-list | wc -l | tr -d ' ')"
		return
	fi
	apt_install fontconfig fonts-dejavu-core
}

# need_node — Node.js + npm, used only to fetch front-end assets and axe-core.
need_node() {
	if have npm && have node; then
		log "node: found $(node --version), npm $(npm --version)"
		return
	fi
	apt_install nodejs npm
	have npm || die "npm still missing after apt-get install"
	log "node: installed $(node --version), npm $(npm --version)"
}

# node_modules_stale — true when node_modules is missing or older than the lockfile.
node_modules_stale() {
	local marker="$ROOT/node_modules/.package-lock.json"
	[ -f "$marker" ] || return 0
	[ "$ROOT/package-lock.json" -nt "$marker" ] && return 0
	[ "$ROOT/package.json" -nt "$marker" ] && return 0
	return 1
}

# need_node_modules — `npm ci` from the committed lockfile (no install scripts).
need_node_modules() {
	[ -f "$ROOT/package-lock.json" ] || die "package-lock.json missing in $ROOT"
	if node_modules_stale; then
		log "npm ci --ignore-scripts (node_modules missing or older than package-lock.json)"
		(cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund)
	else
		log "node_modules: up to date"
	fi
}

# need_slapd — OpenLDAP's server and tools for the LDAP sign-in test
# (started by scripts/slapd-test.sh). The package must not start or
# configure a system-wide directory, so its init script is kept from running.
need_slapd() {
	if [ -x /usr/sbin/slapd ] && have ldapadd && have openssl; then
		log "slapd: found"
		return
	fi
	local policy=/usr/sbin/policy-rc.d created=
	if [ ! -e "$policy" ] && [ "$(id -u)" = "0" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		created=1
	fi
	apt_install slapd ldap-utils openssl
	[ -n "$created" ] && rm -f "$policy"
	[ -x /usr/sbin/slapd ] || die "slapd still missing after apt-get install"
	log "slapd: installed"
}

main() {
	need_chromium
	need_fonts
	need_node
	need_node_modules
	need_slapd
	log "done"
}

# Allow `source scripts/ci-deps.sh` to reuse the functions without running main.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
