#!/bin/bash -e
# mmdebstrap customize hook: restore update-initramfs, build the initramfs once, and write the
# Pi's boot files (config.txt, cmdline.txt, kernel, initrd, device trees) into /boot/firmware.
root="$1"
rm -f "$root/usr/sbin/update-initramfs"
chroot "$root" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.keryu \
    --remove /usr/sbin/update-initramfs

# raspi-firmware: find the root by label; a serial console on the GPIO header (auto-detection
# finds none in a chroot); CMA=0 keeps one image for Pi 3 and Pi 4.
cat >"$root/etc/default/raspi-firmware" <<CONF
ROOTPART=LABEL=${ROOT_LABEL:-RASPIROOT}
CONSOLES="tty0 ttyS1,115200"
CMA=0
CONF

chroot "$root" update-initramfs -c -k all
for kernel in "$root"/lib/modules/*; do
    chroot "$root" /etc/kernel/postinst.d/z50-raspi-firmware "$(basename "$kernel")"
done
test -f "$root/boot/firmware/config.txt"
ls "$root"/boot/firmware/initrd.img-* >/dev/null
