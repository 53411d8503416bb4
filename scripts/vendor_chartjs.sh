#!/usr/bin/env bash
# Vendor Chart.js's built UMD file into static/vendor/ (no CDN at run time).
# Usage: scripts/vendor_chartjs.sh [VERSION]   (default: the version pinned below)
# Installs the package from the npm registry into a temporary directory, copies the prebuilt
# dist/chart.umd.min.js and the licence, and prints the file's SHA-256 for static/vendor/README.md.
set -euo pipefail
VERSION="${1:-4.6.1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

cd "$TMP"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "chart.js@$VERSION" >/dev/null
PKG="$TMP/node_modules/chart.js"
INSTALLED="$(node -p "require('$PKG/package.json').version")"
[ "$INSTALLED" = "$VERSION" ] || { echo "expected chart.js $VERSION, got $INSTALLED" >&2; exit 1; }

mkdir -p "$DEST"
cp "$PKG/dist/chart.umd.min.js" "$DEST/chart.umd.min.js"
cp "$PKG/LICENSE.md" "$DEST/chart.js-LICENSE.md"
echo "chart.js $INSTALLED -> $DEST/chart.umd.min.js"
sha256sum "$DEST/chart.umd.min.js"
