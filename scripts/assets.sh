#!/usr/bin/env bash
# assets.sh — vendor Sportello's front-end assets from npm into the Go embed tree.
#
# Runs `npm ci --ignore-scripts` when node_modules is missing or older than
# package-lock.json, then copies ONLY the files the app serves into
# internal/web/static/vendor/ (git-ignored; a committed README.txt placeholder
# keeps `go build` working before this script has run).
#
# Copied (see VENDOR_FILES in internal/web/static/static.go, keep in sync):
#   vendor/bootstrap-italia/css/bootstrap-italia.min.css
#   vendor/bootstrap-italia/js/bootstrap-italia.bundle.min.js
#   vendor/bootstrap-italia/svg/sprites.svg
#   vendor/bootstrap-italia/LICENSE
#   vendor/fonts/{Titillium_Web,Lora,Roboto_Mono}/*.woff2 + their licence files
#   vendor/htmx/htmx.min.js
#   vendor/htmx/LICENSE
#
# Our own @font-face rules live in internal/web/static/css/fonts.css;
# Bootstrap Italia's script-based font loader is not used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NM="$ROOT/node_modules"
VENDOR="$ROOT/internal/web/static/vendor"

log() { printf 'assets: %s\n' "$*"; }
die() { printf 'assets: ERROR: %s\n' "$*" >&2; exit 1; }

check_node() {
	command -v npm >/dev/null 2>&1 ||
		die "npm not found: install Node.js 18+ (apt-get install nodejs npm, or run scripts/ci-deps.sh)"
	command -v node >/dev/null 2>&1 ||
		die "node not found: install Node.js 18+ (apt-get install nodejs npm)"
	local major
	major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
	if [ "$major" -lt 18 ]; then
		die "Node.js $(node --version) is too old: install Node.js 18+"
	fi
}

# node_modules is stale when missing, or older than package.json / package-lock.json
# (npm ci writes node_modules/.package-lock.json last).
node_modules_stale() {
	local marker="$NM/.package-lock.json"
	[ -f "$marker" ] || return 0
	[ "$ROOT/package-lock.json" -nt "$marker" ] && return 0
	[ "$ROOT/package.json" -nt "$marker" ] && return 0
	return 1
}

install_node_modules() {
	[ -f "$ROOT/package-lock.json" ] || die "package-lock.json missing in $ROOT"
	if node_modules_stale; then
		check_node
		log "npm ci --ignore-scripts (node_modules missing or older than package-lock.json)"
		(cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund) ||
			die "npm ci failed (is the npm registry reachable?)"
	else
		log "node_modules up to date"
	fi
}

# copy SRC DEST — copy one file, failing clearly when the package layout changed.
copy() {
	local src="$NM/$1" dest="$VENDOR/$2"
	[ -f "$src" ] || die "expected file not found: node_modules/$1 (did the package layout change?)"
	mkdir -p "$(dirname "$dest")"
	cp "$src" "$dest"
	printf '  %-76s %8s bytes\n' "vendor/$2" "$(wc -c <"$dest" | tr -d ' ')"
}

copy_fonts() {
	local family f n
	for family in Titillium_Web Lora Roboto_Mono; do
		n=0
		for f in "$NM/bootstrap-italia/dist/fonts/$family"/*.woff2; do
			[ -f "$f" ] || continue
			copy "bootstrap-italia/dist/fonts/$family/$(basename "$f")" "fonts/$family/$(basename "$f")"
			n=$((n + 1))
		done
		[ "$n" -gt 0 ] || die "no woff2 fonts found for $family in bootstrap-italia/dist/fonts/$family"
		for f in OFL.txt LICENSE.txt; do
			if [ -f "$NM/bootstrap-italia/dist/fonts/$family/$f" ]; then
				copy "bootstrap-italia/dist/fonts/$family/$f" "fonts/$family/$f"
			fi
		done
	done
}

# check_fonts_css — every url() in our fonts.css must point at a copied file.
check_fonts_css() {
	local css="$ROOT/internal/web/static/css/fonts.css" u missing=0
	[ -f "$css" ] || return 0
	while IFS= read -r u; do
		[ -n "$u" ] || continue
		if [ ! -f "$(dirname "$css")/$u" ]; then
			printf 'assets: ERROR: css/fonts.css references missing %s\n' "$u" >&2
			missing=1
		fi
	done < <(grep -o "url([^)]*)" "$css" | sed -e "s/^url(//" -e "s/)\$//" -e "s/[\"']//g")
	[ "$missing" = 0 ] || die "fonts.css and the vendored fonts disagree"
}

main() {
	install_node_modules
	log "copying into ${VENDOR#"$ROOT"/}/"
	# Remove the previous copy, keeping the committed placeholder.
	find "$VENDOR" -mindepth 1 -maxdepth 1 ! -name README.txt -exec rm -rf {} +
	copy bootstrap-italia/dist/css/bootstrap-italia.min.css bootstrap-italia/css/bootstrap-italia.min.css
	copy bootstrap-italia/dist/js/bootstrap-italia.bundle.min.js bootstrap-italia/js/bootstrap-italia.bundle.min.js
	copy bootstrap-italia/dist/svg/sprites.svg bootstrap-italia/svg/sprites.svg
	copy bootstrap-italia/LICENSE bootstrap-italia/LICENSE
	copy_fonts
	copy htmx.org/dist/htmx.min.js htmx/htmx.min.js
	copy htmx.org/LICENSE htmx/LICENSE
	check_fonts_css
	log "done: $(find "$VENDOR" -type f ! -name README.txt | wc -l | tr -d ' ') files, $(du -sh "$VENDOR" | cut -f1)"
}

main "$@"
