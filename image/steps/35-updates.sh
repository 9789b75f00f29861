#!/bin/bash -e
# Updates: the final APT sources with the release's -updates and -security suites (mmdebstrap,
# given an explicit mirror, lists only the main suite), unattended-upgrades (installed with the
# base, step 20) set for security fixes at a quiet hour and never rebooting on its own, the
# folder of trusted update keys, and Keryu's own update units.
set -o pipefail

security="${MIRROR%/debian}/debian-security"
rm -f "$ROOTFS/etc/apt/sources.list" "$ROOTFS"/etc/apt/sources.list.d/*
install -d "$ROOTFS/etc/apt/sources.list.d"
cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: ${COMPONENTS//,/ }

Types: deb
URIs: $security
Suites: $SUITE-security
Components: ${COMPONENTS//,/ }
SOURCES

# unattended-upgrades itself is in the base (image/packages/10-system.list): no apt runs here.
# Our settings after the package's own (apt reads apt.conf.d in name order: the last one wins).
install -m 0644 "$IMAGE_DIR/files/updates/20auto-upgrades" "$IMAGE_DIR/files/updates/52keryu-unattended-upgrades" \
    "$ROOTFS/etc/apt/apt.conf.d/"
install -d "$ROOTFS/etc/systemd/system/apt-daily.timer.d" "$ROOTFS/etc/systemd/system/apt-daily-upgrade.timer.d"
install -m 0644 "$IMAGE_DIR/files/updates/apt-daily.timer.conf" "$ROOTFS/etc/systemd/system/apt-daily.timer.d/keryu.conf"
install -m 0644 "$IMAGE_DIR/files/updates/apt-daily-upgrade.timer.conf" \
    "$ROOTFS/etc/systemd/system/apt-daily-upgrade.timer.d/keryu.conf"

# Keryu bundles are installed only when signed by a key in this folder: the project's keys
# (image/update-keys/*.pub) are built in; an owner adds their own there.
install -d -m 0755 "$ROOTFS/etc/keryu/update-keys"
for key in "$IMAGE_DIR"/update-keys/*.pub; do
    if [ -f "$key" ]; then install -m 0644 "$key" "$ROOTFS/etc/keryu/update-keys/"; fi
done
install -m 0755 "$IMAGE_DIR/files/updates/update-resume" "$ROOTFS/usr/local/lib/keryu/update-resume"
systemctl --root="$ROOTFS" enable apt-daily.timer apt-daily-upgrade.timer keryu-update.path \
    keryu-update-resume.service keryu-reboot-window.timer
