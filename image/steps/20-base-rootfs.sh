#!/bin/bash -e
# The Debian base: mmdebstrap installs the package lists into out/base, with the kernel's
# initramfs built once at the end (under emulation it is most of the build time, and every
# package trigger would otherwise rebuild it). Cached: skipped when its inputs are unchanged.
set -o pipefail

stamp=$( (echo "$SUITE $MIRROR $COMPONENTS $ARCH $ROOT_LABEL"; cat "$IMAGE_DIR"/packages/*.list "$IMAGE_DIR"/hooks/* "$0") |
    sha256sum | cut -c1-16)
if [ -f "$BASE/.keryu-base-$stamp" ]; then
    echo "base root file system is up to date ($stamp)"
    exit 0
fi
rm -rf "$BASE"

packages=$(cat "$IMAGE_DIR"/packages/*.list | sed 's/#.*//' | tr -s ' \n' ',' | sed 's/^,//; s/,$//')

mmdebstrap --mode=root --variant=minbase --architectures="$ARCH" --components="$COMPONENTS" \
    --include="$packages" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --essential-hook="$IMAGE_DIR/hooks/divert-initramfs.sh \"\$1\"" \
    --customize-hook="$IMAGE_DIR/hooks/boot-firmware.sh \"\$1\"" \
    "$SUITE" "$BASE" "$MIRROR"

touch "$BASE/.keryu-base-$stamp"
