#!/bin/bash -e
# The build host's tools, and binfmt_misc so that the arm64 root's programs run under qemu.
set -o pipefail

need=()
for pair in mmdebstrap:mmdebstrap qemu-aarch64-static:qemu-user-static update-binfmts:binfmt-support \
    mkfs.vfat:dosfstools mcopy:mtools sfdisk:fdisk mke2fs:e2fsprogs xz:xz-utils \
    qemu-system-aarch64:qemu-system-arm systemd-sysusers:systemd \
    ssh:openssh-client curl:curl \
    systemd-nspawn:systemd-container nsenter:util-linux git:git; do  # the last five for image/test-boot.sh and test-install.sh
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing host tools: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# Containers and fresh machines often lack the binfmt_misc file system; qemu-user-static's
# entries are registered with the F (fix binary) flag, so chroot needs no qemu copy inside.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 2>/dev/null || true
if ! grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    echo "00-host-tools: binfmt_misc has no enabled qemu-aarch64 entry; arm64 programs cannot run" >&2
    exit 1
fi
