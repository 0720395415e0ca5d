#!/usr/bin/env bash
# Installs what the console's browser tests (tests/web/) and figures
# (bench/web_bench.mjs) drive Chromium with: playwright-core from npm, pinned
# by version, into .cache/web/ (git ignores it). Its install script is
# skipped and no browser is downloaded: the tests use Debian's chromium
# (/usr/bin/chromium, scripts/setup.sh installs it).
# Does nothing when the pinned version is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="${ARGUS_WEB_TOOLS_DIR:-$root/.cache/web}"
pw_version=1.65.2

have_pw() {
  node -e 'const p = require(process.argv[1] + "/node_modules/playwright-core/package.json");
           process.exit(p.version === process.argv[2] ? 0 : 1)' "$web" "$pw_version" 2>/dev/null
}

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "web-tools: node/npm not found; run scripts/setup.sh first" >&2
  exit 1
fi

if have_pw; then
  echo "web-tools: playwright-core@$pw_version present in $web"
  exit 0
fi

mkdir -p "$web"
if [[ ! -f "$web/package.json" ]]; then
  printf '{\n  "name": "argus-web-tools",\n  "private": true\n}\n' >"$web/package.json"
fi
echo "web-tools: installing playwright-core@$pw_version into $web"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$web" --ignore-scripts --no-audit \
  --no-fund --silent --save-exact "playwright-core@$pw_version"
if ! have_pw; then
  echo "web-tools: playwright-core@$pw_version did not install" >&2
  exit 1
fi
(cd "$web" && node -e 'require("playwright-core")') || {
  echo "web-tools: playwright-core is installed but does not load" >&2
  exit 1
}
echo "web-tools: done"
