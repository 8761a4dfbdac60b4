#!/bin/sh
# Installs what the end-to-end test needs, from the npm registry only (exact versions from
# the lockfiles): code-server and puppeteer-core (once per machine, in ~/.cache/medpolicy-e2e,
# linked here), vsce and the language client in the extension, then packages the extension
# (medpolicy.vsix). System packages (Debian):
#   apt-get install chromium ripgrep libkrb5-dev    (.ci/run does this)
set -e
HERE="$(cd "$(dirname "$0")" && pwd)"

# code-server's postinstall builds native modules as root only with unsafe-perm, and
# node-pty's runs `npx node-gyp`, which must not stop to ask.
export npm_config_unsafe_perm=true npm_config_yes=true

# @vscode/ripgrep (inside code-server) downloads rg from GitHub, which CI cannot reach; its
# postinstall first looks in its download cache, so Debian's rg goes there. The versions
# are those code-server 4.99.4 pins (its lib/vscode lockfile).
RG_PACKAGE=1.15.11 RG_RELEASE=v13.0.0-10
cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RG_PACKAGE"
asset="$cache/ripgrep-$RG_RELEASE-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$asset" ]; then
  rg="$(command -v rg)" || { echo "setup.sh: ripgrep is missing: apt-get install ripgrep" >&2; exit 1; }
  mkdir -p "$cache/rg-dir"
  cp "$rg" "$cache/rg-dir/rg"
  tar czf "$asset" -C "$cache/rg-dir" rg
  rm -r "$cache/rg-dir"
fi

# One install per machine and lockfile, shared by every checkout (a worktree links to it):
# building code-server's native modules takes minutes.
lock_id="$(sha256sum "$HERE/package-lock.json" | cut -c1-16)"
E2E_HOME="${MED_E2E_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/medpolicy-e2e}/$lock_id"
if [ ! -x "$E2E_HOME/node_modules/.bin/code-server" ]; then
  mkdir -p "$E2E_HOME"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$E2E_HOME/"
  (cd "$E2E_HOME" && npm ci --no-audit --no-fund)
fi
if [ ! -e "$HERE/node_modules" ] || [ -L "$HERE/node_modules" ]; then
  ln -sfn "$E2E_HOME/node_modules" "$HERE/node_modules"
fi
cd "$HERE/../.." && npm ci --no-audit --no-fund && npm run package
