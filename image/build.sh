#!/bin/bash -e
# Build the Keryu kiosk SD image: keryu-<version>-arm64.img.xz and its .sha256 in image/out/.
#
#   image/build.sh            # full build (as root, on Debian; about 15 min on 2 cores)
#   image/build.sh --no-xz    # leave the raw .img (what CI and image/test-boot.sh use)
#   image/build.sh --steps "10 30 40 50"   # rerun some steps only (while working on them)
#
# Like pi-gen, the image is data (packages/*.list, files/, ../systemd/) applied by short
# numbered steps in steps/. No loop devices and no mounts of the image: the root file system
# is a directory made by mmdebstrap (arm64 code runs under qemu-user binfmt), turned into
# ext4 by `mke2fs -d`, the boot partition is filled by mtools, and sfdisk + dd assemble them.
# The Debian base (the slow part) is cached in out/base and rebuilt only when its inputs change.
set -o pipefail

IMAGE_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(dirname "$IMAGE_DIR")
OUT="${KERYU_IMAGE_OUT:-$IMAGE_DIR/out}"
XZ=1
STEPS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --no-xz) XZ=0 ;;
        --steps) STEPS="$2"; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=image/config
. "$IMAGE_DIR/config"
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO_DIR/pyproject.toml" | head -n1)
export IMAGE_DIR REPO_DIR OUT XZ VERSION SUITE MIRROR COMPONENTS ARCH BOOT_LABEL ROOT_LABEL \
    BOOT_SIZE_MIB ROOT_HEADROOM_MIB HOSTNAME TARGET_PYTHON
# The slow, rarely changing parts (the Debian base, the native Python that byte-compiles the
# venv) are kept in KERYU_IMAGE_CACHE (default: out/), so a CI machine can keep them between
# fresh clones.
CACHE="${KERYU_IMAGE_CACHE:-$OUT}"
export CACHE BASE="$CACHE/base" HOST_PYTHON_ROOT="$CACHE/host-python" ROOTFS="$OUT/rootfs" WHEELHOUSE="$OUT/wheelhouse"
export IMAGE_NAME="keryu-$VERSION-$ARCH"

if [ "$(id -u)" != 0 ]; then
    echo "build.sh: run as root (mmdebstrap --mode=root and device files in the root file system need it)" >&2
    exit 1
fi
mkdir -p "$OUT" "$CACHE"

started=$(date +%s)
for step in "$IMAGE_DIR"/steps/[0-9][0-9]-*.sh; do
    number=$(basename "$step" | cut -c1-2)
    if [ -n "$STEPS" ] && [[ " $STEPS " != *" $number "* ]]; then continue; fi
    echo "==> $(basename "$step") ($(( $(date +%s) - started )) s)"
    bash -e "$step"
done
echo "==> done in $(( $(date +%s) - started )) s:" "$OUT/$IMAGE_NAME".img*
