#!/usr/bin/env bash
# Builds libgphoto2's virtual camera for the libgphoto2 installed here: its "vusb" port
# driver, which plays a Nikon D750 over PTP with no USB and no camera, compiled from
# Debian's source of the same version (two C files, under a second). The tests run both
# gphoto2 drivers against it: the gphoto2 program and the binding in its worker.
#
#   bash scripts/vcamera/build.sh        prints the folder it built (or found up to date)
#
# The folder ($LAPSEBOX_VCAMERA_DIR, default ~/.cache/lapsebox/vcamera) holds iolibs/vusb.so
# alone: point libgphoto2 at it with IOLIBS=<folder>/iolibs (with Debian's usb1.so beside
# it, usb1 would win and no camera would be found). The camera serves the JPEG files of
# the folder named by VCAMERADIR (read once per process); a capture returns a copy of the
# first one, and with none there a capture hangs, which is how the tests make a hung camera.
# VUSB_NOSLEEP=1 makes its event reads return at once instead of sleeping out gphoto2's
# timeouts (the CLI's capture 6.6 s -> 0.05 s).
#
# Needs: gcc, tar with xz, node (for the download), libgphoto2-port12 (gphoto2 brings it)
# and a Debian mirror in the apt sources (or DEBIAN_MIRROR). The source tarball is checked
# against the SHA-256 below, known per version; another version needs
# LAPSEBOX_VCAMERA_SHA256 (from `apt-get source --print-uris libgphoto2=<version>`).
set -euo pipefail

OUT=${LAPSEBOX_VCAMERA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lapsebox/vcamera}
declare -A KNOWN_SHA256=(
  [2.5.30]=4d50e71d771ca78e33f10308e7f15ad00a2268d1b5af4a19cd4c5512a1b62a62
)

fail() { echo "vcamera: $*" >&2; exit 1; }

command -v dpkg-query >/dev/null || fail "this builds Debian's libgphoto2 source: dpkg-query is missing (not Debian?)"
FULL=$(dpkg-query -W -f='${source:Version}' libgphoto2-port12 2>/dev/null || true)
[ -n "$FULL" ] || fail "libgphoto2-port12 is not installed (apt-get install gphoto2)"
VERSION=${FULL%-*}
VERSION=${VERSION#*:}
LIB=$(dpkg -L libgphoto2-port12 | grep -E '/libgphoto2_port\.so\.[0-9]+$' | head -1)
[ -n "$LIB" ] && [ -e "$LIB" ] || fail "libgphoto2-port12 $FULL has no libgphoto2_port.so.N"

if [ -f "$OUT/iolibs/vusb.so" ] && [ "$(cat "$OUT/version" 2>/dev/null)" = "$FULL" ]; then
  echo "$OUT"
  exit 0
fi

command -v gcc >/dev/null || fail "gcc is missing (apt-get install gcc)"
command -v xz >/dev/null || fail "xz is missing (apt-get install xz-utils)"
SHA=${LAPSEBOX_VCAMERA_SHA256:-${KNOWN_SHA256[$VERSION]:-}}
[ -n "$SHA" ] || fail "no known checksum for libgphoto2 $VERSION; set LAPSEBOX_VCAMERA_SHA256 (apt-get source --print-uris libgphoto2=$FULL prints it)"

MIRROR=${DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
  # The first Debian archive of the apt sources (deb822 or one-line), not the security one.
  MIRROR=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null)
fi
[ -n "$MIRROR" ] || fail "no Debian mirror in the apt sources; set DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"

WORK=$(mktemp -d /tmp/lapsebox-vcamera-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
TARBALL="libgphoto2_${VERSION}.orig.tar.xz"
URL="${MIRROR%/}/pool/main/libg/libgphoto2/$TARBALL"
# node: the one downloader every machine that runs lapsebox has.
node -e '
  const [url, file, sha] = process.argv.slice(1);
  (async () => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const data = Buffer.from(await res.arrayBuffer());
    const got = require("crypto").createHash("sha256").update(data).digest("hex");
    if (got !== sha) throw new Error(`${url}: SHA-256 ${got}, expected ${sha}`);
    require("fs").writeFileSync(file, data);
  })().catch((err) => { console.error(`vcamera: ${err.message}`); process.exit(1); });
' "$URL" "$WORK/$TARBALL" "$SHA"

tar -xJf "$WORK/$TARBALL" -C "$WORK" "libgphoto2-$VERSION/libgphoto2_port"
SRC="$WORK/libgphoto2-$VERSION/libgphoto2_port"
B="$WORK/vusb"
mkdir -p "$B"
cp "$SRC/vusb/vusb.c" "$SRC/vusb/vcamera.c" "$SRC/vusb/vcamera.h" "$B/"

# Each change is checked: a source that moved on fails here, by name, not later in a test.
patch_file() { # file, sed expression, what must then be found (count), why
  sed -i "$2" "$B/$1"
  [ "$(grep -cF -- "$3" "$B/$1")" -ge "${4:-1}" ] || fail "libgphoto2 $VERSION: cannot apply \"$5\" to $1"
}
# Without FUZZ_PTP, 2.5.30's vusb only finds a camera when a file named after the port
# (./001,001) exists, and replays it; with it, the D750 is emulated (as in libgphoto2 >= 2.5.31).
patch_file vcamera.h 's/^#undef FUZZ_PTP$/#define FUZZ_PTP 1/' '#define FUZZ_PTP 1' 1 'emulate the camera'
# Nor a perror "001,001: No such file or directory" at every open.
patch_file vcamera.c 's/^\t\tif (cam->fuzzf == NULL) perror(s+1);$/\t\t\/* lapsebox: quiet *\//' 'lapsebox: quiet' 1 'no perror at open'
# The fixture folder from VCAMERADIR at run time (the name libgphoto2 >= 2.5.31 uses).
patch_file vcamera.c 's/read_tree(VCAMERADIR);/read_tree(getenv("VCAMERADIR") ? getenv("VCAMERADIR") : VCAMERADIR);/' 'getenv("VCAMERADIR")' 1 'VCAMERADIR'
# VUSB_NOSLEEP=1: event reads return at once instead of sleeping out the whole timeout.
patch_file vcamera.c 's/usleep (timeout\*1000);/if (!getenv("VUSB_NOSLEEP")) usleep (timeout*1000);/; s/usleep (1000\*timeout);/if (!getenv("VUSB_NOSLEEP")) usleep (1000*timeout);/' 'getenv("VUSB_NOSLEEP")' 3 'VUSB_NOSLEEP'
# The only build settings vusb.c and vcamera.c read (no EXIF: the fixtures' sizes are not needed).
printf '#define HAVE_SYS_PARAM_H 1\n' > "$B/config.h"

mkdir -p "$OUT/iolibs" "$OUT/default/DCIM/100TEST"
gcc -shared -fPIC -O2 -w -I"$B" -I"$SRC" -D_GPHOTO2_INTERNAL_CODE -DVCAMERADIR="\"$OUT/default\"" \
  -o "$OUT/iolibs/vusb.so.tmp" "$B/vusb.c" "$B/vcamera.c" "$LIB"
mv "$OUT/iolibs/vusb.so.tmp" "$OUT/iolibs/vusb.so"
echo "$FULL" > "$OUT/version"
echo "$OUT"
