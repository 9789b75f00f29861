#!/bin/sh
# Raspberry Pi Imager's OS customisation appends to cmdline.txt
#   systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target
# and puts its own firstrun.sh on the boot partition (here /boot/firmware). That script is never
# run on this image: this one reads its settings, erases it, takes the parameters out of
# cmdline.txt, and exits 0 whatever happens, so that the boot goes on to reboot into the kiosk
# instead of stopping at kernel-command-line.target.
/usr/local/lib/keryu/boot-config imager-firstrun || echo "keryu: Imager's settings could not all be applied" >&2
sync
exit 0
