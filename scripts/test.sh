#!/usr/bin/env bash
# Runs the whole test suite on Debian 12 / Raspberry Pi OS from a plain checkout:
# installs the system packages the tests need that are missing (as root, or with
# sudo), installs the npm dependencies when node_modules is missing or older than
# package-lock.json, then runs jest with any arguments given (`bash scripts/test.sh
# test/unit` runs the unit tests only). CI (.ci/run) runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages, one per line with why each is needed, are in scripts/test-packages.txt.
mapfile -t PACKAGES < <(grep -v '^#' scripts/test-packages.txt | grep -v '^$')

missing=()
for p in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then missing+=("$p"); fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test.sh: installing the missing system packages: ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null; then
      echo "test.sh: these packages are missing and this is not root (and there is no sudo): ${missing[*]}" >&2
      echo "test.sh: run as root, or install them first: apt-get install ${missing[*]}" >&2
      exit 1
    fi
    SUDO=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# libgphoto2's virtual camera for the gphoto2 tests (about a second; nothing when up to date).
if ! vcamera=$(bash scripts/vcamera/build.sh); then
  echo "test.sh: the virtual camera could not be built (scripts/vcamera/build.sh, above); the gphoto2 tests will fail" >&2
else
  echo "test.sh: libgphoto2's virtual camera in $vcamera"
fi

exec npx --no-install jest "$@"
