#!/usr/bin/env bash
# Fetches mbedTLS 3.6 LTS from Debian 13's source package, verifies it, and
# builds static libraries with the project config (provider/psa/mbedtls_config.h)
# into a cache outside the build tree. Called by scripts/deps.sh; the Makefile
# asks it for the prefix (--print-prefix) and passes -DSE05X_MBEDTLS_PREFIX.
#
#   scripts/mbedtls.sh                 ensure built, print the prefix on stdout
#   scripts/mbedtls.sh --print-prefix  print the prefix if already built, else nothing
#
# Cache: $SE05X_MBEDTLS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/se05x-stack/mbedtls)
#   src/      the .dsc, orig tarball and debian tarball as fetched by apt
#   apt/      private apt lists (the system's apt configuration is not touched)
#   prefix-VERSION-CONFIGHASH/   the install (include/, lib/*.a, .complete)
# Verification: apt checks the files against the signed Release/Sources
# (debian-archive-keyring); we also check the orig tarball's sha256 from the .dsc.
# A second run with the same version and config does nothing and prints nothing
# but the prefix. Messages go to stderr; a failure (e.g. no network) exits 1
# with a clear message and the PSA parts of the build are skipped by CMake.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG="$ROOT/provider/psa/mbedtls_config.h"
CACHE=${SE05X_MBEDTLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/se05x-stack/mbedtls}
SUITE=trixie
MODE=${1:-ensure}

say() { echo "mbedtls: $*" >&2; }
die() { say "$*"; say "PSA driver, mbedTLS example and PSA tests will be skipped"; exit 1; }

# The build recipe is part of the key so that changing flags rebuilds.
BUILD_FLAGS="-DCMAKE_BUILD_TYPE=Release -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF \
-DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DGEN_FILES=OFF \
-DMBEDTLS_FATAL_WARNINGS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON"
config_hash() {
  { cat "$CONFIG"; echo "$BUILD_FLAGS"; } | sha256sum | cut -c1-12
}

dsc_file() {
  local f
  f=$(ls "$CACHE"/src/mbedtls_*.dsc 2>/dev/null | sort -V | tail -n1 || true)
  echo "$f"
}

dsc_version() { sed -n "s/^Version: //p" "$1" | head -n1 | tr "~:+" "___"; }

prefix_for() { echo "$CACHE/prefix-$(dsc_version "$1")-$(config_hash)"; }

print_prefix() {
  local dsc
  dsc=$(dsc_file)
  [ -n "$dsc" ] || return 0
  local p
  p=$(prefix_for "$dsc")
  [ -f "$p/.complete" ] && echo "$p"
  return 0
}

fetch() {
  mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/src"
  cat >"$CACHE/apt/$SUITE.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$CACHE/apt"
              -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache")
  # apt drops privileges to _apt for downloads, which cannot write into a
  # user's cache; as root keep root, as a user apt downloads as that user.
  [ "$(id -u)" -ne 0 ] || opts+=(-o APT::Sandbox::User=root)
  say "fetching the $SUITE source package (apt-get source, checked against the signed Release)"
  apt-get "${opts[@]}" -qq update >&2 ||
    die "apt-get update of the $SUITE deb-src index failed (no network?)"
  (cd "$CACHE/src" && apt-get "${opts[@]}" -qq source --download-only mbedtls >&2) ||
    die "apt-get source --download-only mbedtls failed (no network?)"
}

verify() {
  local dsc=$1 orig line want file
  line=$(awk '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0}
              f && $3 ~ /\.orig\.tar\./{print; exit}' "$dsc")
  [ -n "$line" ] || die "no orig tarball listed in $dsc"
  want=$(echo "$line" | awk '{print $1}')
  file=$(echo "$line" | awk '{print $3}')
  orig="$CACHE/src/$file"
  [ -f "$orig" ] || die "missing $orig"
  if ! echo "$want  $orig" | sha256sum -c --quiet - >&2; then
    rm -f "$CACHE"/src/mbedtls_*   # refetch on the next run
    die "sha256 mismatch for $orig (removed; the next run fetches it again)"
  fi
  echo "$orig"
}

build() {
  local dsc=$1 prefix=$2 orig work srcdir start
  orig=$(verify "$dsc")
  work="$CACHE/work-$$"
  rm -rf "$work" && mkdir -p "$work"
  tar -xf "$orig" -C "$work"
  srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
  [ -f "$srcdir/CMakeLists.txt" ] || die "unexpected layout in $orig"
  start=$(date +%s)
  say "building $(basename "$srcdir") with provider/psa/mbedtls_config.h (static libs only)"
  # shellcheck disable=SC2086
  cmake -S "$srcdir" -B "$work/build" $BUILD_FLAGS -DCMAKE_C_COMPILER="${CC:-cc}" \
    -DMBEDTLS_CONFIG_FILE="$CONFIG" -DCMAKE_INSTALL_PREFIX="$prefix.tmp" \
    -DCMAKE_INSTALL_LIBDIR=lib >"$work/cmake.log" 2>&1 ||
    { tail -n 30 "$work/cmake.log" >&2; die "cmake configure of mbedTLS failed ($work/cmake.log)"; }
  cmake --build "$work/build" -j "$(nproc 2>/dev/null || echo 2)" >"$work/build.log" 2>&1 ||
    { tail -n 30 "$work/build.log" >&2; die "mbedTLS build failed ($work/build.log)"; }
  rm -rf "$prefix.tmp"
  cmake --install "$work/build" >"$work/install.log" 2>&1 ||
    { tail -n 30 "$work/install.log" >&2; die "mbedTLS install failed"; }
  cp "$CONFIG" "$prefix.tmp/include/se05x_mbedtls_config.h"
  touch "$prefix.tmp/.complete"
  rm -rf "$prefix"
  mv "$prefix.tmp" "$prefix"
  rm -rf "$work"
  say "built in $(( $(date +%s) - start )) s -> $prefix"
}

main() {
  if [ "$MODE" = "--print-prefix" ]; then
    print_prefix
    return 0
  fi
  local existing
  existing=$(print_prefix)
  if [ -n "$existing" ]; then
    echo "$existing"
    return 0
  fi
  command -v apt-get >/dev/null ||
    die "apt-get not found (Debian needed to fetch the source package)"
  local dsc
  dsc=$(dsc_file)
  [ -n "$dsc" ] || { fetch; dsc=$(dsc_file); }
  [ -n "$dsc" ] || die "apt-get source produced no .dsc in $CACHE/src"
  local prefix
  prefix=$(prefix_for "$dsc")
  exec 9>"$CACHE/.lock"
  flock 9
  [ -f "$prefix/.complete" ] || build "$dsc" "$prefix"
  echo "$prefix"
}

main
