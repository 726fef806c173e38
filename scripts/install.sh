#!/usr/bin/env bash
# Installs, upgrades or removes lapsebox on Raspberry Pi OS / Debian 12 (arm64, armhf,
# amd64), from a checkout of the project:
#
#   sudo scripts/install.sh               install, or upgrade in place
#   sudo scripts/install.sh --uninstall   remove the program, keep configuration and data
#   sudo scripts/install.sh --help        every option
#
# What goes where: the program in /opt/lapsebox (replaced whole at each upgrade), the
# command in /usr/local/bin/lapsebox, the unit in /etc/systemd/system/lapsebox.service,
# the configuration in /etc/lapsebox and the data in /var/lib/lapsebox (created once,
# never overwritten), and a "lapsebox" system user that runs the daemon.
set -euo pipefail

PROG="install.sh"
SRC="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

APP_USER="lapsebox"
UNIT_NAME="lapsebox.service"
# Groups the daemon needs where the box has them: video (/dev/video*, /dev/vcio for
# vcgencmd), plugdev (USB cameras, per libgphoto2's udev rules), gpio (the relay on
# Raspberry Pi OS). Not dialout: lapsebox opens no serial port.
APP_GROUPS=(video plugdev gpio)
# What the daemon runs: ffmpeg and ffprobe (v4l2, rtsp, videos), gphoto2, the fonts of
# the legend and the test pattern (through fontconfig), CA certificates for HTTPS.
# vcgencmd comes with Raspberry Pi OS; timedatectl with systemd; chrony is optional.
RUNTIME_PACKAGES=(ffmpeg gphoto2 fonts-dejavu-core fontconfig ca-certificates)
# Only when node_modules must be installed: better-sqlite3 and epoll (onoff) compile.
BUILD_PACKAGES=(python3 make g++)
# gvfs volume monitors that open a camera as soon as it is plugged in (gphoto2 then says
# "Could not claim the USB device"): their user units, masked for every user...
GVFS_UNITS=(gvfs-gphoto2-volume-monitor.service gvfs-mtp-volume-monitor.service)
# ...and the files that make GIO programs (file managers) ask for them over D-Bus,
# diverted with dpkg so that neither an activation outside systemd nor an upgrade of
# gvfs-backends brings them back.
GVFS_MONITOR_FILES=(/usr/share/gvfs/remote-volume-monitors/gphoto2.monitor /usr/share/gvfs/remote-volume-monitors/mtp.monitor)
DIVERT_SUFFIX=".lapsebox-disabled"

usage() {
  cat <<'EOF'
Usage: sudo scripts/install.sh [OPTIONS]

Installs lapsebox from this checkout, or upgrades an installed one in place:
system packages, the "lapsebox" user, /opt/lapsebox, /usr/local/bin/lapsebox,
/etc/lapsebox (configuration, created once), /var/lib/lapsebox (data) and the
systemd unit, enabled. A re-run upgrades the program and changes nothing else;
it never touches the configuration or the data.

Options:
  --uninstall      stop and remove the service, /opt/lapsebox, the command and the
                   gvfs settings; keep /etc/lapsebox, /var/lib/lapsebox and the user
  --purge          with --uninstall: remove the configuration, the data (pictures,
                   videos, database) and the user too
  --root DIR       install into DIR as if it were / (an SD card's root partition,
                   or a test folder with etc/passwd and etc/group): no apt-get,
                   no service start, no process touched on this machine
  --no-packages    do not apt-get anything; only say what is missing
  --with-packages  with --root: apt-get the missing packages inside DIR (chroot)
  --no-build       install dist/ and node_modules/ as they are (no npm ci, no build)
  -h, --help       this text

Needs Node.js 20 or newer, installed beforehand (for example from NodeSource).
EOF
}

die() {
  echo "$PROG: $*" >&2
  exit 1
}
usage_error() {
  echo "$PROG: $*" >&2
  echo "Try: $PROG --help" >&2
  exit 2
}
step() { echo "==> $*"; }
warn() { echo "$PROG: warning: $*" >&2; }

# What was done, told once at the end (or at a failure).
SUMMARY=()
did() { SUMMARY+=("$*"); }

# --- Options -------------------------------------------------------------------------

ROOT=""
ROOT_MODE=0
UNINSTALL=0
PURGE=0
PACKAGES=""
BUILD=1
while [ "$#" -gt 0 ]; do
  case "$1" in
    --root)
      [ "$#" -ge 2 ] || usage_error "--root needs a folder"
      ROOT="$2"
      ROOT_MODE=1
      shift 2
      ;;
    --root=*)
      ROOT="${1#--root=}"
      ROOT_MODE=1
      shift
      ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --no-packages)
      [ "$PACKAGES" != "yes" ] || usage_error "--no-packages and --with-packages contradict each other"
      PACKAGES="no"
      shift
      ;;
    --with-packages)
      [ "$PACKAGES" != "no" ] || usage_error "--no-packages and --with-packages contradict each other"
      PACKAGES="yes"
      shift
      ;;
    --no-build) BUILD=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
done
if [ "$PURGE" -eq 1 ] && [ "$UNINSTALL" -eq 0 ]; then
  usage_error "--purge goes with --uninstall"
fi
if [ "$ROOT_MODE" -eq 1 ] && [ -z "$ROOT" ]; then
  usage_error "--root needs a folder"
fi
if [ "$ROOT_MODE" -eq 0 ] && [ "$PACKAGES" = "yes" ]; then
  usage_error "--with-packages goes with --root (without --root, packages are installed anyway)"
fi
if [ -z "$PACKAGES" ]; then
  if [ "$ROOT_MODE" -eq 1 ]; then PACKAGES="no"; else PACKAGES="yes"; fi
fi

[ "$(id -u)" -eq 0 ] || die "run it as root: sudo $0 $*"

# Every path on the target is "$P/...": P is empty for a normal install, DIR with --root.
P=""
if [ "$ROOT_MODE" -eq 1 ]; then
  [ -d "$ROOT" ] || die "--root $ROOT: no such folder"
  P="$(cd -- "$ROOT" && pwd -P)"
  [ "$P" != "/" ] || P=""
  if [ ! -f "$P/etc/passwd" ] || [ ! -f "$P/etc/group" ]; then
    die "--root $ROOT has no etc/passwd or etc/group: give the root of a Debian system (an SD card's root partition, mounted), or a folder with at least etc/passwd and etc/group (and etc/shadow, etc/gshadow), where the lapsebox user is created"
  fi
fi

OPT="$P/opt/lapsebox"
STAGE="$P/opt/lapsebox.new"
OLD="$P/opt/lapsebox.old"
ETC="$P/etc/lapsebox"
DATA="$P/var/lib/lapsebox"
UNIT_DIR="$P/etc/systemd/system"
UNIT_FILE="$UNIT_DIR/$UNIT_NAME"
WRAPPER="$P/usr/local/bin/lapsebox"
USER_UNIT_DIR="$P/etc/systemd/user"

# True when a systemd manager runs this machine and may be told to reload or start.
systemd_running() {
  [ "$ROOT_MODE" -eq 0 ] && [ -d /run/systemd/system ]
}

# systemctl for unit files: offline in a --root folder, or when no systemd runs here
# (a chroot, a container), so enabling works everywhere.
systemctl_files() {
  if [ "$ROOT_MODE" -eq 1 ]; then
    systemctl --root="${P:-/}" "$@"
  elif systemd_running; then
    systemctl "$@"
  else
    SYSTEMD_OFFLINE=1 systemctl "$@"
  fi
}

# --- Users and groups, read from the target's files (not from this machine's NSS) ------

passwd_field() { # USER FIELD
  awk -F: -v u="$1" -v f="$2" '$1 == u { print $f; exit }' "$P/etc/passwd"
}
group_exists() {
  awk -F: -v g="$1" '$1 == g { found = 1 } END { exit !found }' "$P/etc/group"
}
group_gid() {
  awk -F: -v g="$1" '$1 == g { print $3; exit }' "$P/etc/group"
}
user_in_group() { # USER GROUP
  awk -F: -v u="$1" -v g="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) found = 1 } END { exit !found }' "$P/etc/group"
}
# useradd and friends, on the target's files.
shadow_tool() { # TOOL ARGS...
  local tool="$1"
  shift
  if [ "$ROOT_MODE" -eq 1 ]; then
    "$tool" --root "$P" "$@"
  else
    "$tool" "$@"
  fi
}

# --- gvfs ----------------------------------------------------------------------------

dpkg_admin_args() {
  if [ "$ROOT_MODE" -eq 1 ]; then printf '%s\n' "--root=$P"; fi
}
have_dpkg_db() {
  [ -d "$P/var/lib/dpkg" ] && command -v dpkg-divert >/dev/null 2>&1
}

gvfs_disable() {
  local unit link file changed=0
  mkdir -p -- "$USER_UNIT_DIR"
  for unit in "${GVFS_UNITS[@]}"; do
    link="$USER_UNIT_DIR/$unit"
    if [ -L "$link" ] && [ "$(readlink -- "$link")" = "/dev/null" ]; then
      continue
    fi
    if [ -e "$link" ] || [ -L "$link" ]; then
      warn "$link exists and is not a mask: left as it is (gvfs may still hold cameras)"
      continue
    fi
    # What "systemctl --global mask" writes; a plain symlink works without systemd.
    ln -s /dev/null "$link"
    changed=1
  done
  [ "$changed" -eq 0 ] || did "gvfs camera monitors masked for every user (${GVFS_UNITS[*]})"

  if have_dpkg_db; then
    local -a admin
    mapfile -t admin < <(dpkg_admin_args)
    changed=0
    for file in "${GVFS_MONITOR_FILES[@]}"; do
      if dpkg-divert "${admin[@]}" --listpackage "$file" 2>/dev/null | grep -qx "$APP_USER"; then
        continue
      fi
      if ! dpkg-divert "${admin[@]}" --quiet --package "$APP_USER" --rename --divert "$file$DIVERT_SUFFIX" --add "$file"; then
        warn "dpkg-divert of $file failed (dpkg busy?): run this again later; the masks are in place meanwhile"
        continue
      fi
      changed=1
    done
    [ "$changed" -eq 0 ] || did "gvfs camera monitors hidden from file managers (dpkg-divert of ${GVFS_MONITOR_FILES[*]})"
  else
    did "no dpkg database in ${P:-/}: gvfs monitor files not diverted (the user-unit masks are in place)"
  fi

  if systemd_running; then
    gvfs_stop_running
  fi
}

# Stops the monitors in running user sessions, and the gvfsd backends that may hold a
# camera now (they are started by gvfsd, not by a unit).
gvfs_stop_running() {
  local unit uid
  while read -r unit _; do
    uid="${unit#user@}"
    uid="${uid%.service}"
    case "$uid" in '' | *[!0-9]*) continue ;; esac
    # The user's manager has the old (unmasked) units loaded until it reloads.
    systemctl --user --machine="$uid@" daemon-reload >/dev/null 2>&1 || true
    systemctl --user --machine="$uid@" stop "${GVFS_UNITS[@]}" >/dev/null 2>&1 || true
  done < <(systemctl list-units --type=service --state=running --no-legend --plain 'user@*.service' 2>/dev/null || true)
  if pgrep -f '^/usr/(libexec|lib/gvfs)/gvfs(d-gphoto2|d-mtp|-gphoto2-volume-monitor|-mtp-volume-monitor)( |$)' >/dev/null 2>&1; then
    pkill -f '^/usr/(libexec|lib/gvfs)/gvfs(d-gphoto2|d-mtp|-gphoto2-volume-monitor|-mtp-volume-monitor)( |$)' || true
    did "stopped running gvfs camera processes (gvfsd-gphoto2, gvfsd-mtp, their monitors)"
  fi
}

gvfs_enable() {
  local unit link file
  for unit in "${GVFS_UNITS[@]}"; do
    link="$USER_UNIT_DIR/$unit"
    if [ -L "$link" ] && [ "$(readlink -- "$link")" = "/dev/null" ]; then
      rm -f -- "$link"
      did "removed the mask of $unit"
    fi
  done
  if have_dpkg_db; then
    local -a admin
    mapfile -t admin < <(dpkg_admin_args)
    for file in "${GVFS_MONITOR_FILES[@]}"; do
      if dpkg-divert "${admin[@]}" --listpackage "$file" 2>/dev/null | grep -qx "$APP_USER"; then
        if dpkg-divert "${admin[@]}" --quiet --package "$APP_USER" --rename --divert "$file$DIVERT_SUFFIX" --remove "$file"; then
          did "removed the dpkg diversion of $file"
        else
          warn "could not remove the dpkg diversion of $file (dpkg busy?): dpkg-divert --package lapsebox --rename --remove $file"
        fi
      fi
    done
  fi
}

# --- Uninstall -----------------------------------------------------------------------

uninstall() {
  step "Removing lapsebox from ${P:-/}"
  if [ -f "$UNIT_FILE" ]; then
    if systemd_running && systemctl is-active --quiet "$UNIT_NAME"; then
      systemctl stop "$UNIT_NAME"
      did "stopped $UNIT_NAME"
    fi
    systemctl_files disable --quiet "$UNIT_NAME" 2>/dev/null || true
    rm -f -- "$UNIT_FILE"
    did "removed $UNIT_FILE (disabled)"
  fi
  # What "disable" would remove, in case the unit file had gone already.
  rm -f -- "$UNIT_DIR/multi-user.target.wants/$UNIT_NAME"
  if systemd_running; then
    systemctl daemon-reload
    systemctl reset-failed "$UNIT_NAME" >/dev/null 2>&1 || true
  fi
  local dir
  for dir in "$OPT" "$STAGE" "$OLD"; do
    if [ -e "$dir" ]; then
      rm -rf -- "$dir"
      did "removed $dir"
    fi
  done
  if [ -e "$WRAPPER" ]; then
    rm -f -- "$WRAPPER"
    did "removed $WRAPPER"
  fi
  gvfs_enable

  if [ "$PURGE" -eq 0 ]; then
    did "kept $ETC (configuration), $DATA (data) and the $APP_USER user: add --purge to remove them"
    return
  fi

  echo "--purge: removing the configuration ($ETC), every picture, video and the database ($DATA), and the $APP_USER user."
  if [ -d "$UNIT_DIR/$UNIT_NAME.d" ]; then
    rm -rf -- "$UNIT_DIR/$UNIT_NAME.d"
    did "removed $UNIT_DIR/$UNIT_NAME.d (local unit settings)"
  fi
  for dir in "$ETC" "$DATA"; do
    if [ -e "$dir" ]; then
      rm -rf -- "$dir"
      did "removed $dir"
    fi
  done
  if [ -n "$(passwd_field "$APP_USER" 1)" ]; then
    shadow_tool userdel "$APP_USER"
    did "removed the $APP_USER user"
  fi
  if group_exists "$APP_USER"; then
    shadow_tool groupdel "$APP_USER"
    did "removed the $APP_USER group"
  fi
}

print_summary() {
  echo
  echo "$1"
  local line
  for line in "${SUMMARY[@]}"; do echo "  - $line"; done
}

if [ "$UNINSTALL" -eq 1 ]; then
  uninstall
  print_summary "lapsebox removed from ${P:-/}:"
  exit 0
fi

# --- Checks --------------------------------------------------------------------------

step "Checking this machine"
command -v dpkg >/dev/null 2>&1 || die "dpkg not found: this script is for Debian 12 or Raspberry Pi OS"
ARCH="$(dpkg --print-architecture)"
case "$ARCH" in
  arm64 | armhf | amd64) ;;
  *) die "architecture $ARCH is not supported: lapsebox runs on arm64 (Raspberry Pi 3/4/5, 64-bit OS), armhf (Raspberry Pi 2/3/4, 32-bit OS) and amd64 (PCs)" ;;
esac
if [ "$ROOT_MODE" -eq 0 ] && [ "$(uname -m)" = "armv6l" ]; then
  die "this is an ARMv6 board (Raspberry Pi 1 or Zero): Node.js 20 has no build for it; use a Raspberry Pi Zero 2, 3, 4 or 5"
fi

NODE_HINT="Install Node.js 20 or newer first: Debian 12's own nodejs package is 18, too old; NodeSource (https://github.com/nodesource/distributions) has Debian packages of Node.js 20 and 22 for arm64, armhf and amd64. Then run this again."
NODE="$(command -v node || true)"
[ -n "$NODE" ] || die "Node.js is not installed. $NODE_HINT"
NODE_VERSION="$("$NODE" -p 'process.versions.node')" || die "$NODE does not run. $NODE_HINT"
if [ "${NODE_VERSION%%.*}" -lt 20 ]; then
  die "Node.js $NODE_VERSION ($NODE) is too old: lapsebox needs 20 or newer. $NODE_HINT"
fi
NPM="$(command -v npm || true)"
[ -n "$NPM" ] || die "npm is missing (it comes with NodeSource's nodejs package; with another Node.js: apt-get install npm)"

# The node the unit and the command run. The service cannot see home folders
# (ProtectHome=yes), so a node installed by nvm in a home folder will not do.
UNIT_NODE="$NODE"
if [ "$ROOT_MODE" -eq 1 ]; then
  if [ -x "$P/usr/bin/node" ]; then
    UNIT_NODE="/usr/bin/node"
  elif [ -x "$P/usr/local/bin/node" ]; then
    UNIT_NODE="/usr/local/bin/node"
  else
    UNIT_NODE="/usr/bin/node"
    warn "no Node.js in $P yet: install Node.js 20 or newer there (as /usr/bin/node, which the unit runs) before lapsebox starts"
  fi
fi
case "$UNIT_NODE" in
  /home/* | /root/*) die "node is at $UNIT_NODE, inside a home folder, which the service cannot reach: install Node.js system-wide (NodeSource's package puts it in /usr/bin). $NODE_HINT" ;;
esac
echo "    $ARCH, Node.js $NODE_VERSION ($NODE)"

# --- System packages -----------------------------------------------------------------

DPKG_ADMIN=()
[ "$ROOT_MODE" -eq 0 ] || DPKG_ADMIN=(--admindir="$P/var/lib/dpkg")
package_installed() {
  [ "$(dpkg-query "${DPKG_ADMIN[@]}" -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

needs_npm_ci() {
  [ ! -f "$SRC/node_modules/.package-lock.json" ] || [ "$SRC/package-lock.json" -nt "$SRC/node_modules/.package-lock.json" ]
}
needs_build() {
  local main="$SRC/dist/daemon/main.js"
  [ -f "$main" ] || return 0
  [ -z "$(find "$SRC/daemon" "$SRC/web" "$SRC/scripts" -name '*.ts' -newer "$main" -print -quit)" ] || return 0
  [ ! "$SRC/tsconfig.json" -nt "$main" ] || return 0
  [ ! "$SRC/package-lock.json" -nt "$main" ] || return 0
  return 1
}

WANTED_PACKAGES=("${RUNTIME_PACKAGES[@]}")
if [ "$BUILD" -eq 1 ] && needs_npm_ci; then WANTED_PACKAGES+=("${BUILD_PACKAGES[@]}"); fi

step "System packages"
MISSING=()
if [ "$ROOT_MODE" -eq 1 ] && [ ! -f "$P/var/lib/dpkg/status" ]; then
  MISSING=("${WANTED_PACKAGES[@]}")
  did "no dpkg database in $P: cannot tell which packages it has; lapsebox needs ${RUNTIME_PACKAGES[*]}"
else
  for pkg in "${WANTED_PACKAGES[@]}"; do
    package_installed "$pkg" || MISSING+=("$pkg")
  done
  if [ "${#MISSING[@]}" -eq 0 ]; then
    echo "    all there: ${WANTED_PACKAGES[*]}"
  elif [ "$PACKAGES" = "no" ]; then
    did "packages missing, not installed (--no-packages or --root): ${MISSING[*]}; install them with: apt-get install --no-install-recommends ${MISSING[*]}"
  else
    APT=(apt-get)
    [ "$ROOT_MODE" -eq 0 ] || APT=(chroot "${P:-/}" apt-get)
    export DEBIAN_FRONTEND=noninteractive
    echo "    installing ${MISSING[*]}"
    "${APT[@]}" update || warn "apt-get update failed (offline?); trying with the package lists already there"
    "${APT[@]}" install -y --no-install-recommends "${MISSING[@]}" ||
      die "could not install ${MISSING[*]}: check the network and the apt sources (apt-get update), or install them by hand and run this again with --no-packages"
    did "installed packages: ${MISSING[*]}"
  fi
fi
if [ "$ROOT_MODE" -eq 0 ] && ! package_installed systemd-timesyncd && ! package_installed chrony; then
  did "no NTP client (systemd-timesyncd or chrony): the clock will drift and lapsebox's clock check will say so"
fi

# --- Build ---------------------------------------------------------------------------

# Builds as the owner of the checkout (usually the user who ran sudo), so that dist/ and
# node_modules/ in their folder do not become root's.
as_checkout_owner() {
  local owner
  owner="$(stat -c %U -- "$SRC")"
  if [ "$owner" != "root" ] && [ "$owner" != "UNKNOWN" ] && id -u -- "$owner" >/dev/null 2>&1; then
    (cd -- "$SRC" && runuser -u "$owner" -- "$@")
  else
    (cd -- "$SRC" && "$@")
  fi
}

step "Program"
if [ "$BUILD" -eq 1 ]; then
  if needs_npm_ci; then
    echo "    npm ci (node_modules missing or older than package-lock.json)"
    as_checkout_owner "$NPM" ci --no-audit --no-fund || die "npm ci failed in $SRC (see above): it needs the npm registry, and python3, make and g++ for the native modules"
    did "installed node_modules in the checkout (npm ci)"
  fi
  if needs_build; then
    echo "    npm run build (dist/ missing or older than the sources)"
    as_checkout_owner "$NPM" run build || die "the build failed in $SRC (see above)"
    did "built dist/ in the checkout"
  fi
else
  [ -f "$SRC/dist/daemon/main.js" ] || die "--no-build, but $SRC/dist/daemon/main.js is missing: run npm ci && npm run build there, or drop --no-build"
  [ -d "$SRC/node_modules" ] || die "--no-build, but $SRC/node_modules is missing: run npm ci there, or drop --no-build"
  if needs_build; then warn "dist/ is older than the sources; --no-build installs it as it is"; fi
fi
VERSION="$("$NODE" -p 'require(process.argv[1]).version' "$SRC/package.json")"

# --- Stage the new program beside the running one ------------------------------------

# An interrupted upgrade may have left the previous version as .old with nothing in
# its place: put it back first.
if [ ! -e "$OPT" ] && [ -d "$OLD" ]; then
  mv -T -- "$OLD" "$OPT"
  warn "put back $OPT from an interrupted upgrade"
fi
FIRST_INSTALL=1
OLD_VERSION=""
if [ -d "$OPT" ]; then
  FIRST_INSTALL=0
  OLD_VERSION="$("$NODE" -p 'require(process.argv[1]).version' "$OPT/package.json" 2>/dev/null || echo "?")"
fi

SWAPPED=0
COMMITTED=0
UNIT_BACKUP=""
# Any failure before the end leaves the previous version in place: the staged copy is
# dropped, and a swap already done is undone.
on_exit() {
  local status=$?
  [ "$COMMITTED" -eq 0 ] || return 0
  rm -rf -- "$STAGE"
  if [ "$SWAPPED" -eq 1 ] && [ -d "$OLD" ]; then
    rm -rf -- "$OPT"
    mv -T -- "$OLD" "$OPT"
    if [ -n "$UNIT_BACKUP" ] && [ -f "$UNIT_BACKUP" ]; then mv -f -- "$UNIT_BACKUP" "$UNIT_FILE"; fi
    echo "$PROG: the previous version ($OLD_VERSION) is back in $OPT" >&2
  fi
  rm -f -- "$UNIT_FILE.lapsebox-tmp" "$WRAPPER.lapsebox-tmp"
  if [ "$status" -ne 0 ] && [ "${#SUMMARY[@]}" -gt 0 ]; then print_summary "Done before the failure:" >&2; fi
  return "$status"
}
trap on_exit EXIT

echo "    staging lapsebox $VERSION in $STAGE"
rm -rf -- "$STAGE"
mkdir -p -- "$STAGE/config" "$STAGE/web"
cp -a -- "$SRC/dist" "$STAGE/dist"
# The UI's static files are served from the package folder (web/ui), not from dist/.
cp -a -- "$SRC/web/ui" "$STAGE/web/ui"
cp -- "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$STAGE/"
cp -- "$SRC/config/lapsebox.example.yaml" "$SRC/config/lapsebox.schema.json" "$STAGE/config/"
# The checkout's node_modules, native modules already built for this machine, less the
# development packages: no network and no compiler needed.
cp -a -- "$SRC/node_modules" "$STAGE/node_modules"
(
  cd -- "$STAGE"
  # npm's cache and logs stay inside the staged folder (then go), not in root's home.
  npm_config_cache="$STAGE/.npm-cache" npm_config_logs_max=0 npm_config_update_notifier=false \
    "$NPM" prune --omit=dev --offline --no-audit --no-fund >/dev/null
) || die "npm prune --omit=dev failed in $STAGE (see above)"
rm -rf -- "$STAGE/.npm-cache"
chown -R 0:0 -- "$STAGE"
chmod -R u+rwX,go+rX,go-w -- "$STAGE"

# The staged copy must run before it replaces anything: the command line, and the native
# modules (a checkout built on another architecture or Node.js version fails here).
STAGED_VERSION="$("$NODE" "$STAGE/dist/daemon/main.js" --version 2>&1)" ||
  die "the staged program does not run: $STAGED_VERSION"
"$NODE" -e 'for (const m of process.argv.slice(1)) require(m); new (require(process.argv[1]))(":memory:").close();' \
  "$STAGE/node_modules/better-sqlite3" "$STAGE/node_modules/sharp" >/dev/null 2>&1 ||
  die "the native modules in $SRC/node_modules do not load with Node.js $NODE_VERSION on $ARCH (built elsewhere, or for another Node.js?): run npm ci in $SRC on this machine, then this again"

# --- User, folders, configuration -----------------------------------------------------

step "User and folders"
if ! group_exists "$APP_USER"; then
  shadow_tool groupadd --system "$APP_USER"
  did "created the $APP_USER group"
fi
if [ -z "$(passwd_field "$APP_USER" 1)" ]; then
  shadow_tool useradd --system --gid "$APP_USER" --home-dir /var/lib/lapsebox --no-create-home \
    --shell /usr/sbin/nologin --comment "lapsebox timelapse daemon" "$APP_USER"
  did "created the $APP_USER system user (no login shell, home /var/lib/lapsebox)"
fi
JOINED=()
SKIPPED=()
for group in "${APP_GROUPS[@]}"; do
  if ! group_exists "$group"; then
    SKIPPED+=("$group")
  elif ! user_in_group "$APP_USER" "$group"; then
    shadow_tool usermod --append --groups "$group" "$APP_USER"
    JOINED+=("$group")
  fi
done
[ "${#JOINED[@]}" -eq 0 ] || did "added $APP_USER to the groups ${JOINED[*]}"
[ "${#SKIPPED[@]}" -eq 0 ] || did "groups not on this system, skipped: ${SKIPPED[*]}"
APP_UID="$(passwd_field "$APP_USER" 3)"
APP_GID="$(group_gid "$APP_USER")"
if [ -z "$APP_UID" ] || [ -z "$APP_GID" ]; then
  die "the $APP_USER user or group is missing from $P/etc/passwd or $P/etc/group after creating it"
fi

# Only the top folders' owner and mode are set; nothing inside is ever touched.
ensure_dir() { # DIR WHAT
  if [ ! -d "$1" ]; then
    mkdir -p -- "$1"
    did "created $1 ($2)"
  fi
  if [ "$(stat -c '%u:%g %a' -- "$1")" != "$APP_UID:$APP_GID 750" ]; then
    chown -- "$APP_UID:$APP_GID" "$1"
    chmod 0750 -- "$1"
  fi
}
# The daemon rewrites its configuration from the settings page (a temporary file in the
# same folder, then a rename), so the folder is the daemon's.
ensure_dir "$ETC" "configuration"
ensure_dir "$DATA" "data"

CONFIG="$ETC/lapsebox.yaml"
if [ ! -e "$CONFIG" ]; then
  install -m 0640 -o "$APP_UID" -g "$APP_GID" -- "$STAGE/config/lapsebox.example.yaml" "$CONFIG"
  did "created $CONFIG from the example: edit it"
fi
# The JSON Schema beside it, for editors ("yaml-language-server: $schema=" in the file);
# it belongs to the program's version, so an upgrade refreshes it.
if ! cmp -s -- "$STAGE/config/lapsebox.schema.json" "$ETC/lapsebox.schema.json"; then
  install -m 0644 -o 0 -g 0 -- "$STAGE/config/lapsebox.schema.json" "$ETC/lapsebox.schema.json"
  did "wrote $ETC/lapsebox.schema.json"
fi

# --- Command, unit, gvfs --------------------------------------------------------------

# Replaces a file only when its content changes, through a temporary name and a rename.
put_file() { # TARGET MODE (content on stdin)
  local target="$1" mode="$2" tmp="$1.lapsebox-tmp"
  mkdir -p -- "$(dirname -- "$target")"
  cat >"$tmp"
  chmod "$mode" -- "$tmp"
  if [ -f "$target" ] && cmp -s -- "$tmp" "$target"; then
    rm -f -- "$tmp"
    return 1
  fi
  mv -f -- "$tmp" "$target"
}
# The node path, escaped for sed's replacement text.
node_sed="$(printf '%s' "$UNIT_NODE" | sed -e 's/[\\&|]/\\&/g')"

WRAPPER_TEXT="$(sed -e "s|^NODE=/usr/bin/node\$|NODE=$node_sed|" -- "$SRC/scripts/lapsebox-wrapper")" ||
  die "cannot read $SRC/scripts/lapsebox-wrapper"
UNIT_TEXT="$(sed -e "s|/usr/bin/node |$node_sed |g" -- "$SRC/systemd/$UNIT_NAME")" ||
  die "cannot read $SRC/systemd/$UNIT_NAME"

step "Command, service and gvfs"
if printf '%s\n' "$WRAPPER_TEXT" | put_file "$WRAPPER" 0755; then
  did "installed $WRAPPER (runs as $APP_USER when called by root)"
fi

UNIT_EXISTED=0
[ ! -f "$UNIT_FILE" ] || UNIT_EXISTED=1
if [ "$UNIT_EXISTED" -eq 1 ] && [ "$FIRST_INSTALL" -eq 0 ]; then
  UNIT_BACKUP="$OLD.unit"
fi
WAS_ACTIVE=0
if systemd_running && systemctl is-active --quiet "$UNIT_NAME"; then WAS_ACTIVE=1; fi

gvfs_disable

# --- Swap ----------------------------------------------------------------------------

step "Installing lapsebox $VERSION in $OPT"
rm -rf -- "$OLD" "$OLD.unit"
if [ -d "$OPT" ]; then
  mv -T -- "$OPT" "$OLD"
  SWAPPED=1
fi
mv -T -- "$STAGE" "$OPT"
if [ -n "$UNIT_BACKUP" ]; then cp -p -- "$UNIT_FILE" "$UNIT_BACKUP"; fi
if printf '%s\n' "$UNIT_TEXT" | put_file "$UNIT_FILE" 0644; then
  if [ "$UNIT_EXISTED" -eq 1 ]; then did "updated $UNIT_FILE"; else did "installed $UNIT_FILE"; fi
fi
if [ "$UNIT_NODE" != "/usr/bin/node" ]; then
  did "the unit and the command run $UNIT_NODE"
fi
if [ "$(systemctl_files is-enabled "$UNIT_NAME" 2>/dev/null || true)" != "enabled" ]; then
  systemctl_files enable --quiet "$UNIT_NAME" ||
    die "could not enable $UNIT_NAME (systemctl enable failed)"
  did "enabled $UNIT_NAME (starts at boot)"
fi
if [ "$FIRST_INSTALL" -eq 1 ]; then
  did "installed lapsebox $VERSION in $OPT"
elif [ "$OLD_VERSION" = "$VERSION" ]; then
  did "replaced lapsebox $VERSION in $OPT with this checkout's build"
else
  did "upgraded lapsebox in $OPT: $OLD_VERSION -> $VERSION"
fi

CONFIG_IS_EXAMPLE=0
if cmp -s -- "$CONFIG" "$OPT/config/lapsebox.example.yaml"; then CONFIG_IS_EXAMPLE=1; fi

NEXT=()
if systemd_running; then
  systemctl daemon-reload
  if [ "$WAS_ACTIVE" -eq 1 ]; then
    step "Restarting lapsebox (it checks the data folder before it says it is ready)"
    if ! systemctl restart "$UNIT_NAME"; then
      [ -d "$OLD" ] || die "lapsebox $VERSION failed to start: see journalctl -u lapsebox -n 100"
      echo "$PROG: lapsebox $VERSION did not start; putting $OLD_VERSION back" >&2
      trap - EXIT
      rm -rf -- "$OPT"
      mv -T -- "$OLD" "$OPT"
      if [ -f "$UNIT_BACKUP" ]; then mv -f -- "$UNIT_BACKUP" "$UNIT_FILE"; fi
      systemctl daemon-reload
      systemctl restart "$UNIT_NAME" || true
      die "lapsebox $VERSION failed to start (see: journalctl -u lapsebox -n 100); lapsebox $OLD_VERSION is installed again and was restarted"
    fi
    did "restarted lapsebox"
  elif [ "$FIRST_INSTALL" -eq 1 ] && [ "$CONFIG_IS_EXAMPLE" -eq 0 ]; then
    step "Starting lapsebox"
    systemctl start "$UNIT_NAME" || die "lapsebox did not start: see journalctl -u lapsebox -n 100, and check the file with: sudo lapsebox config check"
    did "started lapsebox"
  elif [ "$FIRST_INSTALL" -eq 0 ]; then
    NEXT+=("lapsebox was not running and was left stopped: sudo systemctl start lapsebox")
  fi
else
  if [ "$ROOT_MODE" -eq 1 ]; then
    did "nothing started or reloaded (--root): lapsebox starts when the box boots"
  else
    did "systemd is not running here: nothing started or reloaded; lapsebox starts at the next boot"
  fi
fi
if [ "$CONFIG_IS_EXAMPLE" -eq 1 ]; then
  NEXT=("edit ${CONFIG#"$P"} (it is still the example: appliance id, time zone, location, cameras), then:"
    "  sudo lapsebox config check"
    "  sudo systemctl start lapsebox"
    "  sudo journalctl -u lapsebox -f" "${NEXT[@]}")
fi

COMMITTED=1
trap - EXIT
rm -rf -- "$OLD" "$OLD.unit"

print_summary "lapsebox $VERSION, in ${P:-/}:"
if [ "${#NEXT[@]}" -gt 0 ]; then
  echo
  echo "Next:"
  for line in "${NEXT[@]}"; do echo "  $line"; done
fi
