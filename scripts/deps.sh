#!/usr/bin/env bash
# Installs the Debian packages se05x-stack needs to build, test and demo.
# Idempotent: checks what is present first and only calls apt-get for what is
# missing. Works as root or through sudo. Used by `make demo`, `make test`
# and CI; nothing else in the project installs system packages. At the end it
# runs scripts/mbedtls.sh (mbedTLS 3.6 from Debian's source package, cached).
# mosquitto may start a system broker on 1883 (systemd); nothing here uses
# it: the MQTT demo and tests run their own broker on a free loopback port.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev openssl libcmocka-dev curl
  libjson-c-dev
  python3 python3-cryptography procps
  protobuf-c-compiler libprotobuf-c-dev
  libsqlite3-dev
  bzip2 debian-archive-keyring
  mosquitto mosquitto-clients libpaho-mqtt-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_missing() {
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO="sudo"
    else
      echo "deps: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}
[ ${#missing[@]} -eq 0 ] || install_missing

bash "$(dirname "$0")/mbedtls.sh" >/dev/null || true
