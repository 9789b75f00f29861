#!/bin/bash -e
# mmdebstrap essential hook: until the end of the install, update-initramfs does nothing.
# The kernel and several packages trigger it; each run is minutes under emulation.
root="$1"
chroot "$root" dpkg-divert --quiet --local --rename --divert /usr/sbin/update-initramfs.keryu \
    --add /usr/sbin/update-initramfs
printf '#!/bin/sh\n# diverted during the image build; run once at the end\nexit 0\n' >"$root/usr/sbin/update-initramfs"
chmod 0755 "$root/usr/sbin/update-initramfs"
