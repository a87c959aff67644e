#!/usr/bin/env bash
# Makes sure a small Java runtime for the cgroup v2 VM test is cached, and prints its directory:
#   ${OOMWATCH_VM_CACHE:-/var/cache/oomwatch-vm}/jre/<JDK version>-<hash of the options>/
#     jre/      made with jlink from the JDK of the jlink on the PATH (or $JAVA_HOME/bin/jlink)
#     sysroot/  the libraries ldd lists for its binaries and libraries, and the dynamic loader, at the
#               absolute paths ldd names (copied into the VM's root as they are)
# Builds only when that JDK version is not cached yet. Quiet unless it builds or fails.
set -euo pipefail
cache=${OOMWATCH_VM_CACHE:-/var/cache/oomwatch-vm}
add_modules=java.base,java.logging,java.net.http,jdk.httpserver,java.management,java.naming,jdk.crypto.ec,java.xml,jdk.unsupported
options="--strip-debug --no-header-files --no-man-pages"

jlink=${JAVA_HOME:+$JAVA_HOME/bin/jlink}
[ -n "$jlink" ] && [ -x "$jlink" ] || jlink=$(command -v jlink || true)
[ -n "$jlink" ] || { echo "vm runtime: no jlink (install a JDK, e.g. openjdk-17-jdk-headless)" >&2; exit 1; }
jdk=$(dirname "$(dirname "$(readlink -f "$jlink")")")
version=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"$/\1/p' "$jdk/release")
[ -n "$version" ] || version=$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$jdk/release")
key=$(printf '%s\n%s\n%s\n' "$jdk" "$add_modules" "$options" | sha256sum | cut -c1-8)
dir=$cache/jre/$version-$key
if [ -x "$dir/jre/bin/java" ] && [ -f "$dir/complete" ]; then
  echo "$dir"
  exit 0
fi

echo "vm runtime: building a Java runtime with jlink ($version) for the cgroup v2 VM test" >&2
mkdir -p "$cache/jre"
work=$(mktemp -d "$cache/jre/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
"$jlink" --add-modules "$add_modules" $options --output "$work/jre"
# the default CDS archive of the JDK's classes: the JVM starts faster with it, the more so under emulation
"$work/jre/bin/java" -Xshare:dump >/dev/null 2>&1 || true
mkdir -p "$work/sysroot"
find "$work/jre" -type f \( -name java -o -name '*.so' \) | while read -r elf; do
  ldd "$elf" 2>/dev/null || true
done | sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' | sort -u | while read -r lib; do
  case "$lib" in "$work"/*) continue ;; esac
  mkdir -p "$work/sysroot$(dirname "$lib")"
  cp -L "$lib" "$work/sysroot$lib"
done
[ -e "$work/sysroot/lib64/ld-linux-x86-64.so.2" ] || { echo "vm runtime: ldd did not list the dynamic loader" >&2; exit 1; }
touch "$work/complete"
rm -rf "$dir"
mkdir -p "$dir"
mv "$work/jre" "$work/sysroot" "$work/complete" "$dir/"
for old in "$cache"/jre/*; do
  [ "$old" = "$dir" ] || rm -rf "$old"
done
echo "$dir"
