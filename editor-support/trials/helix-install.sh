#!/bin/sh
# Helix for the editor trial (tests/test_editor_trials.py), on Debian 12 without touching it.
#
# Debian 12 has no Helix; Debian 13 (trixie) has it as `hx`, built against trixie's glibc.
# This downloads hx, libc6 and libgcc-s1 from trixie with apt-get and a private apt set-up
# (its own sources list, lists and cache under DIR: the system's apt is untouched, and a
# version bump in trixie is just the next download), unpacks them under DIR with dpkg-deb,
# and writes DIR/hx, which starts Helix through trixie's dynamic loader and libraries and
# points it at its runtime files.
#
#     sh editor-support/trials/helix-install.sh [DIR]     (default /opt/medpolicy-helix)
set -eu
DIR=${1:-/opt/medpolicy-helix}
[ -x "$DIR/hx" ] && "$DIR/hx" --version >/dev/null 2>&1 && exit 0
mkdir -p "$DIR/apt/lists/partial" "$DIR/apt/cache/archives/partial" "$DIR/debs" "$DIR/root"
echo "deb http://deb.debian.org/debian trixie main" >"$DIR/apt/sources.list"
: >"$DIR/apt/status"  # an empty dpkg status: nothing is "installed" for this apt
set -- -o "Dir::Etc::SourceList=$DIR/apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null" \
       -o "Dir::State::Lists=$DIR/apt/lists" -o "Dir::Cache=$DIR/apt/cache" \
       -o "Dir::State::status=$DIR/apt/status" -o "Dir::Etc::Preferences=/dev/null" \
       -o "Dir::Etc::PreferencesParts=/dev/null" -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
apt-get -q "$@" update
(cd "$DIR/debs" && apt-get -q "$@" download hx libc6 libgcc-s1)
for deb in "$DIR"/debs/*.deb; do
    dpkg-deb -x "$deb" "$DIR/root"
done
LIBS="$DIR/root/usr/lib/x86_64-linux-gnu"
cat >"$DIR/hx" <<WRAPPER
#!/bin/sh
# Helix from Debian trixie, on trixie's glibc (helix-install.sh)
HELIX_RUNTIME=\${HELIX_RUNTIME:-$DIR/root/usr/lib/hx/runtime} exec "$LIBS/ld-linux-x86-64.so.2" --library-path "$LIBS" "$DIR/root/usr/lib/hx/hx" "\$@"
WRAPPER
chmod +x "$DIR/hx"
"$DIR/hx" --version
