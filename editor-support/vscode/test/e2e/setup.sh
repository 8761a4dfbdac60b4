#!/bin/sh
# Installs what the end-to-end test needs, from the npm registry only (exact versions from
# the lockfiles): code-server and puppeteer-core here, vsce and the language client in the
# extension, then packages the extension (medpolicy.vsix). System packages (Debian):
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

cd "$HERE" && npm ci --no-audit --no-fund
cd "$HERE/../.." && npm ci --no-audit --no-fund && npm run package
