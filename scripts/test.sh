#!/usr/bin/env bash
# Runs the whole test suite on Debian 12 / Raspberry Pi OS from a plain checkout:
# installs the system packages the tests need that are missing (as root, or with
# sudo), installs the npm dependencies when node_modules is missing or older than
# package-lock.json, then runs jest with any arguments given (`bash scripts/test.sh
# test/unit` runs the unit tests only). CI (.ci/run) runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# Why each package: python3, make and g++ build better-sqlite3, epoll (onoff) and unix-dgram;
# the DejaVu fonts and fontconfig draw the test pattern's text; ffmpeg runs the v4l2 and rtsp
# drivers, the RTSP test stream and the timelapse tests; gphoto2's real output is checked
# against the parsers (the camera itself is a fake gphoto2); openssl makes a throwaway
# certificate for the https camera test; procps gives ps; openssh-server is the central server
# of the sync tests (a real sshd on loopback) and openssh-client makes their keys; chromium is
# the headless browser the UI tests drive through playwright-core; prometheus brings promtool,
# which checks /metrics; util-linux has mount (the small tmpfs of the full-disk tests, as root)
# and unshare (the install.sh isolation test); systemd brings systemd-analyze and
# `systemctl --root` (neither needs systemd running); passwd has useradd --root.
PACKAGES=(python3 make g++ fonts-dejavu-core fontconfig ca-certificates ffmpeg gphoto2 openssl procps
  openssh-server openssh-client chromium prometheus util-linux systemd passwd)

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

exec npx --no-install jest "$@"
