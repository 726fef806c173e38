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
# Folders made on the way (/etc/systemd/user, /var/lib...) must be readable by everyone,
# whatever root's own umask is; the lapsebox folders get their mode explicitly.
umask 022

PROG="install.sh"
SRC="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

APP_USER="lapsebox"
UNIT_NAME="lapsebox.service"
# Groups the daemon needs where the box has them: video (/dev/video*, /dev/vcio for
# vcgencmd), plugdev (USB cameras, per libgphoto2's udev rules), gpio (the relay on
# Raspberry Pi OS). Not dialout: lapsebox opens no serial port.
APP_GROUPS=(video plugdev gpio)
# What the daemon runs: ffmpeg and ffprobe (v4l2, rtsp, videos), gphoto2, the fonts of
# the legend and the test pattern (through fontconfig), CA certificates for HTTPS, and
# jemalloc, the allocator the unit preloads for the daemon (daemon/allocator.ts).
# vcgencmd comes with Raspberry Pi OS; timedatectl with systemd; chrony is optional.
RUNTIME_PACKAGES=(ffmpeg gphoto2 fonts-dejavu-core fontconfig ca-certificates libjemalloc2)
# Only when node_modules must be installed: better-sqlite3 and epoll (onoff) compile, and
# the gphoto2 binding (the DSLR session driver) compiles against libgphoto2-dev's headers;
# without them it is skipped and the gphoto2 program takes the pictures.
BUILD_PACKAGES=(python3 make g++ libgphoto2-dev)
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
                   gvfs masks and diversions the installer made (not those that were
                   there before); keep /etc/lapsebox, /var/lib/lapsebox and the user
  --purge          with --uninstall: remove the configuration, the data (pictures,
                   videos, database) and the user too
  --root DIR       install into DIR as if it were / (an SD card's root partition,
                   or a test folder with etc/passwd and etc/group): no apt-get,
                   no service start, no process touched on this machine. DIR and
                   the folders written in it must be root's, and not symbolic links
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

# As given, for the "run it as root" hint (the loop below shifts them away).
ARGS=("$@")
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

if [ "$(id -u)" -ne 0 ]; then
  hint="sudo $(printf '%q' "$0")"
  if [ "${#ARGS[@]}" -gt 0 ]; then hint+="$(printf ' %q' "${ARGS[@]}")"; fi
  die "run it as root: $hint"
fi

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
# The files outside /opt/lapsebox an upgrade replaces (unit, command, schema), as they
# were, until the upgrade is over: a failure puts them back with the previous program.
SAVED_DIR="$OLD.files"
# The gvfs masks this installer made (not those that were there before it), one unit
# name a line: --uninstall removes those only.
MASK_RECORD="$ETC/.installer-masks"

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

is_mask() { [ -L "$1" ] && [ "$(readlink -- "$1")" = "/dev/null" ]; }

# The units of GVFS_UNITS named in MASK_RECORD (anything else there is ignored).
recorded_masks() {
  local name unit
  [ -f "$MASK_RECORD" ] && [ ! -L "$MASK_RECORD" ] || return 0
  while IFS= read -r name || [ -n "$name" ]; do
    for unit in "${GVFS_UNITS[@]}"; do
      if [ "$name" = "$unit" ]; then printf '%s\n' "$unit"; fi
    done
  done <"$MASK_RECORD"
}
is_recorded_mask() { recorded_masks | grep -qxF -- "$1"; }

# Writes MASK_RECORD with the units given (through a new file and a rename: the folder
# is the daemon's, so nothing is written through a name that may already be there).
write_mask_record() { # UNIT...
  local tmp
  tmp="$(mktemp -- "$ETC/.installer-masks.XXXXXX")"
  if [ "$#" -gt 0 ]; then printf '%s\n' "$@" >"$tmp"; fi
  chmod 0644 -- "$tmp"
  mv -fT -- "$tmp" "$MASK_RECORD"
}

gvfs_disable() {
  local unit link file changed owner
  local -a mine made=() kept=()
  mkdir -p -- "$USER_UNIT_DIR"
  mapfile -t mine < <(recorded_masks)
  for unit in "${GVFS_UNITS[@]}"; do
    link="$USER_UNIT_DIR/$unit"
    if is_mask "$link"; then
      # Ours from an earlier run, or the administrator's: not ours to remove later.
      is_recorded_mask "$unit" || kept+=("$unit")
      continue
    fi
    if [ -e "$link" ] || [ -L "$link" ]; then
      warn "$link exists and is not a mask: left as it is (gvfs may still hold cameras)"
      continue
    fi
    # What "systemctl --global mask" writes; a plain symlink works without systemd.
    ln -s /dev/null "$link"
    is_recorded_mask "$unit" || mine+=("$unit")
    made+=("$unit")
  done
  if [ "${#made[@]}" -gt 0 ]; then
    write_mask_record "${mine[@]}"
    did "gvfs camera monitors masked for every user (${made[*]}; recorded in ${MASK_RECORD#"$P"}: --uninstall removes the masks made by the installer only)"
  fi
  [ "${#kept[@]}" -eq 0 ] || echo "    already masked, not by this installer (kept as they are, also by --uninstall): ${kept[*]}"

  if have_dpkg_db; then
    local -a admin
    mapfile -t admin < <(dpkg_admin_args)
    changed=0
    for file in "${GVFS_MONITOR_FILES[@]}"; do
      # dpkg keeps who made a diversion: --uninstall removes lapsebox's only.
      owner="$(dpkg-divert "${admin[@]}" --listpackage "$file" 2>/dev/null || true)"
      if [ "$owner" = "$APP_USER" ]; then
        continue
      fi
      if [ -n "$owner" ]; then
        echo "    $file is already diverted (by $owner): left as it is"
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
    is_mask "$link" || continue
    if is_recorded_mask "$unit"; then
      rm -f -- "$link"
      did "removed the mask of $unit"
    else
      did "kept the mask of $unit: this installer did not make it (it was there before, or an older installer made it); to remove it: rm ${link#"$P"}"
    fi
  done
  if [ -e "$MASK_RECORD" ] || [ -L "$MASK_RECORD" ]; then rm -f -- "$MASK_RECORD"; fi
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
  for dir in "$OPT" "$STAGE" "$OLD" "$SAVED_DIR" "$OLD.unit"; do
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

# --- Where the script writes ------------------------------------------------------------

# A symbolic link on the way would make root write, chown or remove through it: with
# --root DIR, a link DIR/etc/lapsebox -> /etc turns the chown of the configuration
# folder into a chown of this machine's /etc; a folder someone else owns lets them put
# such a link there later. Checked before anything is changed.
refuse_unsafe_dir() { # REL OWNER_UID... (the uids that may own it)
  local rel="$1" dir="$P/$1" owner allowed
  shift
  if [ -L "$dir" ]; then
    die "--root $ROOT: $rel is a symbolic link (to $(readlink -- "$dir")): root would write, chown or remove through it, outside $ROOT; make $rel a real folder"
  fi
  [ -e "$dir" ] || return 0
  [ -d "$dir" ] || die "--root $ROOT: $rel is not a folder"
  owner="$(stat -c %u -- "$dir")"
  for allowed in "$@"; do [ "$owner" != "$allowed" ] || return 0; done
  die "--root $ROOT: $rel is owned by uid $owner, not root: whoever owns it could put links there that make root write elsewhere; chown root $P/$rel first"
}
check_target_dirs() {
  local rel app_uid given="$ROOT"
  if [ "$ROOT_MODE" -eq 1 ]; then
    while [ "$given" != "/" ] && [ "${given%/}" != "$given" ]; do given="${given%/}"; done
    if [ -L "$given" ]; then
      die "--root $ROOT is a symbolic link (to $(readlink -- "$given")): give the folder itself (--root $(readlink -f -- "$given"))"
    fi
    [ "$(stat -c %u -- "${P:-/}")" = "0" ] ||
      die "--root $ROOT is owned by uid $(stat -c %u -- "${P:-/}"), not root: whoever owns it could put links there that make root write elsewhere; chown root $ROOT first"
    for rel in etc etc/systemd etc/systemd/system etc/systemd/system/multi-user.target.wants etc/systemd/user \
      opt opt/lapsebox opt/lapsebox.new opt/lapsebox.old opt/lapsebox.old.files usr usr/local usr/local/bin \
      usr/share usr/share/gvfs usr/share/gvfs/remote-volume-monitors var var/lib var/lib/dpkg; do
      refuse_unsafe_dir "$rel" 0
    done
    # These two are the daemon's once installed.
    app_uid="$(passwd_field "$APP_USER" 3)"
    for rel in etc/lapsebox var/lib/lapsebox; do
      refuse_unsafe_dir "$rel" 0 ${app_uid:+"$app_uid"}
    done
  elif [ "$UNINSTALL" -eq 0 ]; then
    for rel in "$ETC" "$DATA"; do
      if [ -L "$rel" ]; then
        die "$rel is a symbolic link (to $(readlink -- "$rel")): the installer sets the owner and mode of the folder it creates there, and will not do it through a link; make it a real folder (for data on another disk, point storage.dataDir at it and add it to ReadWritePaths= in a drop-in: see \"The service\" in docs/install-and-operate.md)"
      fi
    done
  fi
}
check_target_dirs

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

# Files outside /opt/lapsebox that an upgrade replaces, by name: their previous content
# goes to SAVED_DIR/NAME (or SAVED_DIR/NAME.absent when there was none) before the first
# change, and comes back with the previous program if the upgrade fails.
saved_target() {
  case "$1" in
    unit) printf '%s\n' "$UNIT_FILE" ;;
    wrapper) printf '%s\n' "$WRAPPER" ;;
    schema) printf '%s\n' "$ETC/lapsebox.schema.json" ;;
    *) return 1 ;;
  esac
}
SAVED_NAMES=(unit wrapper schema)
save_previous() { # NAME
  local target
  [ "$FIRST_INSTALL" -eq 0 ] || return 0
  target="$(saved_target "$1")"
  if [ -e "$SAVED_DIR/$1" ] || [ -e "$SAVED_DIR/$1.absent" ]; then return 0; fi
  [ -d "$SAVED_DIR" ] || mkdir -m 0700 -- "$SAVED_DIR"
  if [ -f "$target" ]; then
    cp -p -- "$target" "$SAVED_DIR/$1"
  else
    : >"$SAVED_DIR/$1.absent"
  fi
}
restore_previous() {
  local name target
  [ -d "$SAVED_DIR" ] || return 0
  for name in "${SAVED_NAMES[@]}"; do
    target="$(saved_target "$name")"
    if [ -f "$SAVED_DIR/$name" ]; then
      mv -fT -- "$SAVED_DIR/$name" "$target" || warn "could not put back $target (its previous content is in $SAVED_DIR/$name)"
    elif [ -e "$SAVED_DIR/$name.absent" ]; then
      rm -f -- "$target"
    fi
  done
  rm -rf -- "$SAVED_DIR"
}

# An interrupted upgrade may have left the previous version as .old with nothing in
# its place: put it back first, with the files it had.
if [ ! -e "$OPT" ] && [ -d "$OLD" ]; then
  mv -T -- "$OLD" "$OPT"
  restore_previous
  warn "put back $OPT from an interrupted upgrade"
fi
rm -rf -- "$SAVED_DIR"
FIRST_INSTALL=1
OLD_VERSION=""
if [ -d "$OPT" ]; then
  FIRST_INSTALL=0
  OLD_VERSION="$("$NODE" -p 'require(process.argv[1]).version' "$OPT/package.json" 2>/dev/null || echo "?")"
fi

# --- The database, around a restart into another version ------------------------------

# A new version may migrate the database at its first start, and the previous version
# may then refuse it: when the versions differ, the database files are copied with the
# service stopped, and put back if the new version does not start.
DB_FILES=(lapsebox.db lapsebox.db-wal lapsebox.db-shm lapsebox.db-journal)
DB_COPY_NAME=".lapsebox-db-before-upgrade"
DB_DIR=""
DB_BACKUP=""

# The data folder the daemon uses: storage.dataDir of the file the unit gives it
# (LAPSEBOX_CONFIG), relative to that file's folder; /var/lib/lapsebox by default.
database_dir() {
  local env word config="$ETC/lapsebox.yaml"
  local -a words=()
  env="$(systemctl show --property=Environment --value "$UNIT_NAME" 2>/dev/null || true)"
  read -r -a words <<<"$env" || true
  for word in "${words[@]}"; do
    case "$word" in LAPSEBOX_CONFIG=?*) config="${word#LAPSEBOX_CONFIG=}" ;; esac
  done
  "$NODE" -e '
    const fs = require("fs"), path = require("path");
    const [yaml, file] = process.argv.slice(1);
    let dir = "/var/lib/lapsebox";
    try {
      const d = require(yaml).parse(fs.readFileSync(file, "utf8"))?.storage?.dataDir;
      if (typeof d === "string" && d !== "") dir = path.resolve(path.dirname(file), d);
    } catch {}
    process.stdout.write(dir);' "$OPT/node_modules/yaml" "$config"
}

# Before the service is stopped: where the database is, and room for a copy.
prepare_database_copy() {
  local f need avail
  DB_DIR="$(database_dir)" || die "cannot tell where the database is (storage.dataDir)"
  if [ ! -e "$DB_DIR/lapsebox.db" ]; then
    did "no database in $DB_DIR yet: nothing to copy before the upgrade"
    DB_DIR=""
    return 0
  fi
  for f in "${DB_FILES[@]}"; do
    if [ -L "$DB_DIR/$f" ] || { [ -e "$DB_DIR/$f" ] && [ ! -f "$DB_DIR/$f" ]; }; then
      die "$DB_DIR/$f is not a plain file: no copy of the database can be kept for a rollback; nothing was changed in the database, the upgrade is undone"
    fi
  done
  if [ -e "$DB_DIR/$DB_COPY_NAME" ] || [ -L "$DB_DIR/$DB_COPY_NAME" ]; then
    die "$DB_DIR/$DB_COPY_NAME is there, left by an interrupted upgrade: it holds the database from before that upgrade. Check which database is the right one (keep it as $DB_DIR/lapsebox.db), remove $DB_DIR/$DB_COPY_NAME, and run this again"
  fi
  need=0
  for f in "${DB_FILES[@]}"; do
    if [ -f "$DB_DIR/$f" ]; then need=$((need + $(stat -c %s -- "$DB_DIR/$f") / 1024 + 1)); fi
  done
  avail="$(df -Pk -- "$DB_DIR" | awk 'NR == 2 { print $4 }')"
  # The copy, and 64 MB left for the daemon afterwards.
  if [ -n "$avail" ] && [ "$avail" -lt $((need + 65536)) ]; then
    die "not enough free space in $DB_DIR for a copy of the database ($((need / 1024 + 1)) MB, and 64 MB to spare; $((avail / 1024)) MB free), kept in case the new version does not start: free some space and run this again"
  fi
}

# With the service stopped: the database files, as they are, into DB_DIR/DB_COPY_NAME.
copy_database() {
  local f copy="$DB_DIR/$DB_COPY_NAME"
  [ -n "$DB_DIR" ] || return 0
  # mkdir without -p fails on anything already there (the folder is the daemon's).
  mkdir -m 0700 -- "$copy" || die "could not create $copy"
  for f in "${DB_FILES[@]}"; do
    if [ -f "$DB_DIR/$f" ] && ! cp -p --reflink=auto -- "$DB_DIR/$f" "$copy/$f"; then
      rm -rf -- "$copy"
      die "could not copy $DB_DIR/$f to $copy (disk full?)"
    fi
  done
  DB_BACKUP="$copy"
  did "copied the database of lapsebox $OLD_VERSION to $DB_BACKUP (put back if lapsebox $VERSION does not start)"
}

# The database as it was before the new version started (the service stopped).
restore_database() {
  local f
  for f in "${DB_FILES[@]}"; do
    rm -f -- "$DB_DIR/$f" || return 1
  done
  for f in "${DB_FILES[@]}"; do
    if [ -f "$DB_BACKUP/$f" ]; then mv -f -- "$DB_BACKUP/$f" "$DB_DIR/$f" || return 1; fi
  done
  rmdir -- "$DB_BACKUP"
}

# --- Failure: the previous version back -----------------------------------------------

SWAPPED=0
COMMITTED=0
SERVICE_TOUCHED=0
# Any failure before the end leaves the previous version in place: the staged copy is
# dropped, a swap already done is undone (program, unit, command, schema), and when the
# service had been stopped or restarted, the database is put back and the previous
# version started again, and what it really does is said.
on_exit() {
  local status=$? state
  [ "$COMMITTED" -eq 0 ] || return 0
  set +e
  rm -rf -- "$STAGE"
  rm -f -- "$UNIT_FILE.lapsebox-tmp" "$WRAPPER.lapsebox-tmp"
  if [ "$SWAPPED" -eq 1 ] && [ -d "$OLD" ]; then
    if [ "$SERVICE_TOUCHED" -eq 1 ]; then
      # Restart=always would start the new version again meanwhile.
      systemctl stop "$UNIT_NAME" >/dev/null 2>&1
    fi
    rm -rf -- "$OPT"
    mv -T -- "$OLD" "$OPT"
    restore_previous
    echo "$PROG: lapsebox $OLD_VERSION is back in $OPT, with its unit and command" >&2
    if systemd_running; then systemctl daemon-reload; fi
    if [ "$SERVICE_TOUCHED" -eq 1 ]; then
      if [ -n "$DB_BACKUP" ] && ! restore_database; then
        echo "$PROG: the database could NOT be put back as it was before the upgrade: its copy is in $DB_BACKUP; lapsebox $OLD_VERSION was left stopped. Put the files of $DB_BACKUP back in $DB_DIR, then: sudo systemctl start lapsebox" >&2
      else
        if [ -n "$DB_BACKUP" ]; then echo "$PROG: the database is back as it was before the upgrade" >&2; fi
        systemctl reset-failed "$UNIT_NAME" >/dev/null 2>&1
        systemctl start "$UNIT_NAME" >/dev/null 2>&1
        state="$(systemctl is-active "$UNIT_NAME" 2>/dev/null)"
        if [ "$state" = "active" ]; then
          echo "$PROG: lapsebox $OLD_VERSION is installed again and running" >&2
        else
          echo "$PROG: lapsebox $OLD_VERSION is installed again but did NOT start either (systemctl is-active: ${state:-unknown}): see journalctl -u lapsebox -n 100" >&2
        fi
      fi
    fi
  else
    restore_previous
    if [ "$SERVICE_TOUCHED" -eq 1 ]; then
      echo "$PROG: no previous version to put back; lapsebox is $(systemctl is-active "$UNIT_NAME" 2>/dev/null)" >&2
    fi
  fi
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
# The message catalogs, one file per language (i18n/<code>.json): the UI, pages and e-mails.
cp -a -- "$SRC/i18n" "$STAGE/i18n"
cp -- "$SRC/package.json" "$SRC/package-lock.json" "$SRC/README.md" "$STAGE/"
# The documentation travels with the program: /opt/lapsebox/docs (the unit's Documentation=).
cp -a -- "$SRC/docs" "$STAGE/docs"
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

# Whether the lapsebox user may create and rename files in DIR, from its owner, group
# and mode (the user's groups as the target's /etc/group has them; ACLs not read).
app_can_write() { # DIR
  local uid gid mode
  read -r uid gid mode < <(stat -c '%u %g %a' -- "$1")
  mode=$((8#$mode))
  if [ "$uid" = "$APP_UID" ]; then
    [ $((mode & 8#300)) -eq $((8#300)) ]
  elif [ "$gid" = "$APP_GID" ] || awk -F: -v g="$gid" -v u="$APP_USER" '$3 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) found = 1 } END { exit !found }' "$P/etc/group"; then
    [ $((mode & 8#030)) -eq $((8#030)) ]
  else
    [ $((mode & 8#003)) -eq $((8#003)) ]
  fi
}

# A folder the installer creates gets the daemon as owner, mode 0750. One that is
# already there is left as it is (an administrator may have tightened it), with a
# warning when the daemon could not write to it.
ensure_dir() { # DIR WHAT WHY-THE-DAEMON-WRITES-THERE
  if [ -L "$1" ]; then
    die "$1 is a symbolic link (to $(readlink -- "$1")): the installer will not create or change anything through it; make it a real folder"
  fi
  if [ ! -e "$1" ]; then
    mkdir -p -- "$1"
    chown -- "$APP_UID:$APP_GID" "$1"
    chmod 0750 -- "$1"
    did "created $1 ($2; owned by $APP_USER, mode 0750)"
    return 0
  fi
  [ -d "$1" ] || die "$1 is there and is not a folder"
  if ! app_can_write "$1"; then
    warn "the $APP_USER user cannot write to $1 (owner $(stat -c '%u:%g' -- "$1"), mode $(stat -c '%a' -- "$1")), and the daemon needs to: $3. Left as it is; to let it: sudo chown $APP_USER:$APP_USER ${1#"$P"} (or give the $APP_USER group write access)"
  fi
}
# The daemon rewrites its configuration from the settings page (a temporary file in the
# same folder, then a rename), so the folder is the daemon's.
ensure_dir "$ETC" "configuration" "the settings page saves the configuration there (a new file, then a rename)"
ensure_dir "$DATA" "data" "the database, the pictures and the videos are written there"

CONFIG="$ETC/lapsebox.yaml"
if [ ! -e "$CONFIG" ]; then
  install -m 0640 -o "$APP_UID" -g "$APP_GID" -- "$STAGE/config/lapsebox.example.yaml" "$CONFIG"
  did "created $CONFIG from the example: edit it"
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
UNIT_EXISTED=0
[ ! -f "$UNIT_FILE" ] || UNIT_EXISTED=1
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
# From here, what a failure puts back is saved first (save_previous).
save_previous wrapper
if printf '%s\n' "$WRAPPER_TEXT" | put_file "$WRAPPER" 0755; then
  did "installed $WRAPPER (runs as $APP_USER when called by root)"
fi
save_previous unit
if printf '%s\n' "$UNIT_TEXT" | put_file "$UNIT_FILE" 0644; then
  if [ "$UNIT_EXISTED" -eq 1 ]; then did "updated $UNIT_FILE"; else did "installed $UNIT_FILE"; fi
fi
# The JSON Schema beside the configuration, for editors ("yaml-language-server:
# $schema=" in the file); it belongs to the program's version, so an upgrade refreshes it.
if ! cmp -s -- "$OPT/config/lapsebox.schema.json" "$ETC/lapsebox.schema.json"; then
  save_previous schema
  install -m 0644 -o 0 -g 0 -- "$OPT/config/lapsebox.schema.json" "$ETC/lapsebox.schema.json"
  did "wrote $ETC/lapsebox.schema.json"
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
  if [ "$WAS_ACTIVE" -eq 1 ] && [ "$FIRST_INSTALL" -eq 0 ] && [ "$OLD_VERSION" != "$VERSION" ]; then
    prepare_database_copy
    step "Stopping lapsebox $OLD_VERSION, to keep a copy of its database in case lapsebox $VERSION does not start"
    SERVICE_TOUCHED=1
    systemctl stop "$UNIT_NAME" || die "could not stop lapsebox $OLD_VERSION"
    copy_database
    step "Starting lapsebox $VERSION (it checks the data folder before it says it is ready)"
    systemctl start "$UNIT_NAME" || die "lapsebox $VERSION did not start: see journalctl -u lapsebox -n 100"
    did "restarted lapsebox ($OLD_VERSION -> $VERSION)"
  elif [ "$WAS_ACTIVE" -eq 1 ]; then
    step "Restarting lapsebox (it checks the data folder before it says it is ready)"
    SERVICE_TOUCHED=1
    systemctl restart "$UNIT_NAME" || die "lapsebox $VERSION did not start: see journalctl -u lapsebox -n 100"
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
rm -rf -- "$OLD" "$OLD.unit" "$SAVED_DIR"
if [ -n "$DB_BACKUP" ]; then
  rm -rf -- "$DB_BACKUP"
  did "removed the copy of the database ($DB_BACKUP): lapsebox $VERSION runs"
fi

print_summary "lapsebox $VERSION, in ${P:-/}:"
if [ "${#NEXT[@]}" -gt 0 ]; then
  echo
  echo "Next:"
  for line in "${NEXT[@]}"; do echo "  $line"; done
fi
