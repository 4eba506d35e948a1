#!/usr/bin/env bash
# Builds mediasoup's C++ worker from the npm package's own sources against
# Debian's libraries, with nothing downloaded (mediasoup's own postinstall is
# disabled in package.json: it fetches a prebuilt binary, pip packages and
# meson wraps, none of which are reachable here). The result is cached under
# .cache/ keyed by mediasoup version, arch and everything that shapes the
# binary (the stand-ins, the precompiled header and the recipe below), so a
# reinstall takes seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ms="$root/node_modules/mediasoup"
target="$ms/worker/out/Release/mediasoup-worker"

[ -f "$ms/package.json" ] || { echo "mediasoup is not installed: run npm ci first" >&2; exit 1; }
version=$(sed -n 's/^\s*"version": "\(.*\)",/\1/p' "$ms/package.json" | head -1)
# Bump when the build steps below change what gets built.
RECIPE=3
MAKE_ARGS=(PYTHON=/usr/bin/python3 MESON=/usr/bin/meson MEDIASOUP_BUILDTYPE=Release MESON_ARGS=-Dms_disable_liburing=true)
recipe=$( (echo "$RECIPE ${MAKE_ARGS[*]}"; cd "$here" && find standins pch -type f | sort | xargs cat) | sha256sum | cut -c1-12)
cache="$root/.cache/mediasoup-worker/$version-$(uname -m)-$recipe"

# Ninja prints "[n/total] ..." per step; show every 5%.
show_progress() {
  local line done total pct last=-1
  while IFS= read -r line; do
    [[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
    done=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
    pct=$((done * 100 / total / 5 * 5))
    if [ "$pct" -ne "$last" ] && [ "$total" -gt 1 ]; then
      echo "  compiling: $pct% ($done of $total)"
      last=$pct
    fi
  done
}

install_from_cache() {
  mkdir -p "$(dirname "$target")"
  cp "$cache/mediasoup-worker" "$target"
  echo "mediasoup-worker $version: installed from cache ($cache)"
}

if [ -x "$cache/mediasoup-worker" ]; then
  install_from_cache
  exit 0
fi

for tool in meson ninja flatc pkg-config g++; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run ./setup.sh (installs the build packages)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import invoke' 2>/dev/null || { echo "missing python3-invoke: run ./setup.sh" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "mediasoup-worker $version: building from source in $work (about 5 minutes on 2 cores)"
cp -r "$ms/worker" "$work/worker"
w="$work/worker"

# Debian bookworm has meson 1.0.1; nothing the worker uses needs 1.1.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$w/meson.build"

# mediasoup's DTLS output-BIO callback means to pass through the result of
# every BIO operation but compares the operation code with BIO_CB_RETURN for
# equality, so it answers 1 to every control query (BIO_CTRL_WPENDING among
# them). Debian's OpenSSL 3.0.22 then crashes (NULL write in SSL_read) on the
# first ClientHello. Test for the flag instead.
dtls="$w/src/RTC/DtlsTransport.cpp"
grep -q '(operationType == BIO_CB_RETURN)' "$dtls" || { echo "DtlsTransport.cpp changed: review the BIO callback patch" >&2; exit 1; }
sed -i 's/(operationType == BIO_CB_RETURN)/((operationType \& BIO_CB_RETURN) != 0)/' "$dtls"

# The worker's sources spend most of their compile time parsing the same
# headers: precompile them once (pch/ms_pch.hpp; about half the build's CPU).
grep -A1 '^executable($' "$w/meson.build" | grep -q "^  'mediasoup-worker',$" || { echo "meson.build changed: review the precompiled header patch" >&2; exit 1; }
mkdir -p "$w/pch"
cp "$here/pch/ms_pch.hpp" "$w/pch/ms_pch.hpp"
sed -i "/^executable($/{n;s|^  'mediasoup-worker',$|&\\n  cpp_pch: 'pch/ms_pch.hpp',|}" "$w/meson.build"

# Each wrap's directory already existing is what keeps meson from downloading.
for wrap in "$w"/subprojects/*.wrap; do
  name=$(basename "$wrap" .wrap)
  dir=$(sed -n 's/^directory *= *//p' "$wrap")
  [ -d "$here/standins/$name" ] || continue
  cp -r "$here/standins/$name" "$w/subprojects/$dir"
  : > "$w/subprojects/$dir/empty.c"
done

# tasks.py would pip-install invoke, meson and ninja; point it at Debian's.
mkdir -p "$w/pip_invoke" "$w/out/pip_meson_ninja/bin"
ln -sf "$(command -v ninja)" "$w/out/pip_meson_ninja/bin/ninja"

log="$root/.cache/mediasoup-worker/build.log"
mkdir -p "$(dirname "$log")"
set +e
make -C "$w" "${MAKE_ARGS[@]}" 2>&1 | tee "$log" | show_progress
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "mediasoup-worker build failed; the last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

built="$w/out/Release/mediasoup-worker"
[ -x "$built" ] || { echo "mediasoup-worker build failed (no binary produced)" >&2; exit 1; }
mkdir -p "$cache"
cp "$built" "$cache/mediasoup-worker"
install_from_cache
