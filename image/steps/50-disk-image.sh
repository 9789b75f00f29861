#!/bin/bash -e
# Assemble the SD image without loop devices or mounts: the FAT boot partition filled by
# mtools, the ext4 root made from the directory by `mke2fs -d` (owners, modes and setuid
# bits kept), both written into an sfdisk-partitioned file with dd.
set -o pipefail

work="$OUT/parts"
rm -rf "$work"
mkdir -p "$work"
img="$OUT/$IMAGE_NAME.img"
rm -f "$img" "$img.xz" "$img.xz.sha256" "$img.sha256"

# Boot partition: everything raspi-firmware wrote to /boot/firmware (set aside by step 40).
boot_kib=$((BOOT_SIZE_MIB * 1024))
mkfs.vfat -F 32 -n "$BOOT_LABEL" -C "$work/boot.vfat" "$boot_kib" >/dev/null
mcopy -s -p -i "$work/boot.vfat" "$OUT"/bootfs/* ::

# Root partition: its size is what the files use plus headroom; first boot grows it.
used_mib=$(du -sm --apparent-size "$ROOTFS" | cut -f1)
root_mib=$((used_mib + used_mib / 5 + ROOT_HEADROOM_MIB))
mke2fs -q -F -t ext4 -L "$ROOT_LABEL" -d "$ROOTFS" "$work/root.ext4" "${root_mib}M"

# Partition table: 4 MiB alignment, FAT32 (LBA) then Linux; the Pi's ROM reads an MBR.
start=8192 # sectors of 512 bytes = 4 MiB
boot_sectors=$((BOOT_SIZE_MIB * 2048))
root_start=$((start + boot_sectors))
root_sectors=$((root_mib * 2048))
truncate -s $(((root_start + root_sectors) * 512)) "$img"
sfdisk --quiet "$img" <<TABLE
label: dos
unit: sectors
start=$start, size=$boot_sectors, type=c, bootable
start=$root_start, size=$root_sectors, type=83
TABLE
dd if="$work/boot.vfat" of="$img" bs=1M seek=$((start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$img" bs=1M seek=$((root_start * 512)) oflag=seek_bytes conv=notrunc,sparse status=none
rm -rf "$work"
echo "image: $img ($(du -h --apparent-size "$img" | cut -f1) raw, root ${used_mib} MiB used of ${root_mib} MiB)"

if [ "$XZ" = 1 ]; then
    xz -T0 -6 --keep --force "$img"
    (cd "$OUT" && sha256sum "$IMAGE_NAME.img.xz" >"$IMAGE_NAME.img.xz.sha256")
    echo "compressed: $img.xz ($(du -h "$img.xz" | cut -f1))"
else
    (cd "$OUT" && sha256sum "$IMAGE_NAME.img" >"$IMAGE_NAME.img.sha256")
fi
