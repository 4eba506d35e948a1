#!/usr/bin/env bash
# Installs everything on Debian 12 (apt packages, node modules with the Node 24
# runtime, the mediasoup worker built from source, the web client), then
# starts the all-in-one server on https://<this host>:8443.
#
#   ./setup.sh             install, then start the server
#   ./setup.sh --no-start  install only (CI, images)
#
# Safe to run again: steps that are already done are skipped quickly.
set -euo pipefail
cd "$(dirname "$0")"

start=1
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    *) echo "unknown option: $arg (use --no-start)" >&2; exit 2 ;;
  esac
done

began=$SECONDS
step() { printf '\n\033[1m==> %s\033[0m (%ds)\n' "$*" "$((SECONDS - began))"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Build tools for mediasoup's worker, and what the system runs and tests with.
APT_PACKAGES=(
  g++ make meson ninja-build pkg-config python3-invoke
  libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev nlohmann-json3-dev libabsl-dev
  libflatbuffers-dev flatbuffers-compiler liburing-dev
  chromium firefox-esr ffmpeg redis-server sip-tester baresip linphone-cli nginx libnginx-mod-rtmp
  espeak-ng sox xvfb pulseaudio docker-compose
  iproute2 nftables pebble stunnel4 coturn
)

step "System packages"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${#missing[@]} packages: ${missing[*]}"
  as_root apt-get update -q
  # coturn is for the TURN test and for running it as README's "TURN" says. Debian's package
  # enables and starts a system-wide relay with its default settings: masked while it installs,
  # so it never starts, then left disabled.
  new_coturn=0
  if [[ " ${missing[*]} " == *" coturn "* ]] && [ -d /run/systemd/system ]; then
    new_coturn=1
    as_root systemctl mask --runtime coturn
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  if [ "$new_coturn" -eq 1 ]; then
    as_root systemctl unmask --runtime coturn
    as_root systemctl disable coturn
  fi
else
  echo "all ${#APT_PACKAGES[@]} packages present"
fi

step "Node modules, Node 24 runtime and the mediasoup worker"
stamp=node_modules/.setup-stamp
want="$(sha256sum package-lock.json | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/mediasoup/worker/out/Release/mediasoup-worker ]; then
  echo "node_modules match package-lock.json"
else
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

step "Web client"
npm run --silent build -- --logLevel warn

step "IVR prompts (espeak-ng)"
npm run --silent prompts

step "Installed"
if [ "$start" -eq 1 ]; then
  step "Starting the server: https://<this host>:8443 (its log says the address and the certificate fingerprint), SIP on 5060 and 5061 (TLS) (Ctrl-C stops it)"
  exec npm start --silent
fi
