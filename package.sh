#!/bin/bash
# package.sh — builds the Debian package from a clean copy of the tree and
# checks it with lintian (no errors, no warnings): source and binary
# packages, so debian/control, debian/copyright and debian/tests are checked
# too.
#
#   ./package.sh              build deb/ferry-resource-agents_<version>_<arch>.deb
#   ./package.sh --nocheck    the same without running the tests during the
#                             build (test.sh: it has just run them itself)
#
# The copy is `git archive` of the working tree's tracked files (committed
# or not; untracked files are left out, as in a clone), so nothing built in
# the source tree leaks into the package. Needs the Build-Depends
# (./bootstrap.sh --deps installs them) and lintian.
set -euo pipefail
cd "$(dirname "$0")"

out=$PWD/deb
build=$out/build
opts=${DEB_BUILD_OPTIONS:-}
[ "${1:-}" = --nocheck ] && opts="$opts nocheck"

git rev-parse --git-dir >/dev/null 2>&1 || {
    echo "package.sh: not a git checkout; in an unpacked release, run dpkg-buildpackage -us -uc -b" >&2
    exit 1
}
version=$(dpkg-parsechangelog -S Version)
rm -rf "$build"
mkdir -p "$build/ferry-$version"
# a stash commit holds uncommitted changes to tracked files; none: HEAD
rev=$(git stash create 2>/dev/null || true)
git archive "${rev:-HEAD}" | tar -x -C "$build/ferry-$version"

echo "package: building ferry-resource-agents $version in $build (log: $out/build.log)"
if ! (cd "$build/ferry-$version" && DEB_BUILD_OPTIONS="${opts# }" dpkg-buildpackage -us -uc) >"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log"
    echo "package: dpkg-buildpackage failed (see $out/build.log)" >&2
    exit 1
fi
changes=$(ls "$build"/ferry_"$version"_*.changes)
grep -q "ferry_$version.dsc" "$changes" || { echo "package: $changes lists no source package" >&2; exit 1; }
deb=$(ls "$build"/ferry-resource-agents_"$version"_*.deb)

echo "package: lintian"
if ! lintian --fail-on error,warning --info "$changes" >"$out/lintian.log" 2>&1; then
    cat "$out/lintian.log"
    echo "package: lintian found errors or warnings (see $out/lintian.log)" >&2
    exit 1
fi
cat "$out/lintian.log"

# what the package must hold, and ferry-import(8) must document every option
# ferry-import --help names
check=$build/check
mkdir -p "$check"
dpkg-deb -x "$deb" "$check"
for f in usr/lib/ocf/resource.d/ferry/vm usr/lib/ocf/resource.d/ferry/health-cpu usr/sbin/ferry-import; do
    [ -x "$check/$f" ] || { echo "package: /$f missing" >&2; exit 1; }
done
# (dh_compress gzips documents larger than 4 kB)
for f in usr/share/man/man7/ocf_ferry_vm.7 usr/share/man/man7/ocf_ferry_health-cpu.7 usr/share/man/man8/ferry-import.8 \
         usr/share/doc/ferry-resource-agents/README usr/share/doc/ferry-resource-agents/REPORT.md; do
    [ -f "$check/$f" ] || [ -f "$check/$f.gz" ] || { echo "package: /$f missing" >&2; exit 1; }
done
man8=$(zcat "$check/usr/share/man/man8/ferry-import.8.gz" | sed 's/\\-/-/g')
for opt in $("$check/usr/sbin/ferry-import" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    grep -q -- "$opt" <<<"$man8" || { echo "package: ferry-import(8) does not document $opt" >&2; exit 1; }
done

cp "$deb" "$out/"
echo "package: ok: $out/$(basename "$deb")"
