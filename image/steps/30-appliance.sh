#!/bin/bash -e
# The appliance on top of the Debian base: the image's files, the keryu user, the app in
# /opt/keryu/venvs/<version> behind the /opt/keryu/venv link (updates install beside it), the
# systemd units from ../systemd/ (copied, never duplicated), and which services start at boot.
set -o pipefail

# A fresh copy of the cached base, so this step can be rerun on its own.
rm -rf "$ROOTFS"
cp -a --reflink=auto "$BASE" "$ROOTFS"
rm -f "$ROOTFS"/.keryu-base-*

# Configuration files, as data (files/rootfs mirrors the target's paths).
cp -a --no-preserve=ownership "$IMAGE_DIR/files/rootfs/." "$ROOTFS/"
chmod 0755 "$ROOTFS/usr/local/bin/keryu" "$ROOTFS/usr/local/lib/keryu/boot-config"

# systemd units: the one copy lives in the repository's systemd/ folder.
install -m 0644 "$REPO_DIR"/systemd/*.service "$REPO_DIR"/systemd/*.target "$REPO_DIR"/systemd/*.path \
    "$REPO_DIR"/systemd/*.timer "$ROOTFS/usr/lib/systemd/system/"

# The unprivileged keryu user and the gpio group (declared in sysusers.d), by the image's own
# systemd-sysusers (it knows the syntax of the image's other sysusers.d files).
chroot "$ROOTFS" systemd-sysusers
# root:keryu 0640: systemd reads it as root, the `keryu` CLI through the group (the group id
# from the image's own user database, not the build host's).
install -d -m 0755 "$ROOTFS/etc/keryu"
install -m 0640 -o 0 -g "$(chroot "$ROOTFS" id -g keryu)" "$ROOTFS/usr/share/keryu/device.env" "$ROOTFS/etc/keryu/keryu.env"

# The app: a venv that also sees Debian's python3-libcamera, filled from the host-made
# wheelhouse (the app, its dependencies and device-wheels.txt: every wheel in it) without
# network (arm64 Python runs under qemu here).
rm -rf "$ROOTFS/tmp/wheelhouse"
cp -a "$WHEELHOUSE" "$ROOTFS/tmp/wheelhouse"
wheels=()
for wheel in "$WHEELHOUSE"/*.whl; do wheels+=("/tmp/wheelhouse/$(basename "$wheel")"); done
# env -i: the build host's PIP_* settings (indexes, find-links) mean nothing in the image.
in_root() { chroot "$ROOTFS" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
# pip itself comes from Debian's wheel, run from the wheel file and installed uncompiled like
# the rest (venv's own ensurepip would byte-compile it under emulation: minutes).
pip_wheel=$(cd "$ROOTFS" && echo usr/share/python-wheels/pip-*.whl)
# Each version has its own venv; every unit starts through the link, which `keryu update` switches.
venv="/opt/keryu/venvs/$VERSION"
install -d "$ROOTFS/opt/keryu/venvs"
ln -s "venvs/$VERSION" "$ROOTFS/opt/keryu/venv"
in_root /usr/bin/python3 -m venv --without-pip --system-site-packages "$venv"
in_root "$venv/bin/python" "/$pip_wheel/pip" install --quiet --no-index --no-cache-dir --no-compile \
    --find-links /tmp/wheelhouse "${wheels[@]}" "/$pip_wheel"
rm -rf "$ROOTFS/tmp/wheelhouse"
# Bytecode now (the services' file system is read-only, so they could never cache it
# themselves), by the same Python version running natively in step 25's root: the venv moves
# there and back (a rename on one file system), as emulated this was most of the step. Two
# levels: plain for the commands, `-OO` (.opt-2.pyc, no docstrings or asserts) for the services,
# which run with PYTHONOPTIMIZE=2 to save 20 MiB of RSS among them (bench/README.md, "Memory").
# Debian compiled its own modules (the standard library, python3-libcamera) at the plain level
# only, so they get their -OO bytecode the same way, recorded under their real paths.
rm -rf "$HOST_PYTHON_ROOT/opt/keryu" "$HOST_PYTHON_ROOT/tmp/target-lib"
install -d "$HOST_PYTHON_ROOT/opt/keryu/venvs" "$HOST_PYTHON_ROOT/tmp/target-lib"
mv "$ROOTFS$venv" "$HOST_PYTHON_ROOT$venv"
chroot "$HOST_PYTHON_ROOT" "python$TARGET_PYTHON" -m compileall -q -j 0 -o 0 -o 2 "$venv/lib" >/dev/null
mv "$HOST_PYTHON_ROOT$venv" "$ROOTFS$venv"
for lib in "python$TARGET_PYTHON" python3/dist-packages; do
    [ -d "$ROOTFS/usr/lib/$lib" ] || continue
    install -d "$(dirname "$HOST_PYTHON_ROOT/tmp/target-lib/$lib")"
    mv "$ROOTFS/usr/lib/$lib" "$HOST_PYTHON_ROOT/tmp/target-lib/$lib"
    chroot "$HOST_PYTHON_ROOT" "python$TARGET_PYTHON" -m compileall -q -j 0 -o 2 -s /tmp/target-lib -p /usr/lib \
        -x '/(test|tests|idlelib|lib2to3)/' "/tmp/target-lib/$lib" >/dev/null
    mv "$HOST_PYTHON_ROOT/tmp/target-lib/$lib" "$ROOTFS/usr/lib/$lib"
done
rm -rf "$HOST_PYTHON_ROOT/opt/keryu" "$HOST_PYTHON_ROOT/tmp/target-lib"
touch "$OUT/.bytecode-compiled"
in_root /opt/keryu/venv/bin/python -c 'import lgpio' # lgpio's C code loads on the image's Python
in_root /opt/keryu/venv/bin/keryu --version
# The services' imports at the level they run at (the scanner's camera library included).
in_root env PYTHONOPTIMIZE=2 /opt/keryu/venv/bin/python -c \
    'import appliance.worker.runtime, appliance.web.serve, appliance.scanner.runner, cv2'
# The image's Python took that bytecode as its own: it rewrote no .pyc file.
stale=$(find "$ROOTFS$venv" "$ROOTFS/usr/lib/python$TARGET_PYTHON" "$ROOTFS/usr/lib/python3" \
    -name '*.pyc' -newer "$OUT/.bytecode-compiled" | head -n3)
if [ -n "$stale" ]; then
    echo "30-appliance: the image's Python recompiled what the host's compiled, e.g. $stale" >&2
    exit 1
fi
rm "$OUT/.bytecode-compiled"
install -d -m 0755 "$ROOTFS/usr/share/doc/keryu"
for doc in appliance.md security.md updates.md; do
    if [ -f "$REPO_DIR/docs/$doc" ]; then install -m 0644 "$REPO_DIR/docs/$doc" "$ROOTFS/usr/share/doc/keryu/"; fi
done

# Redis for an appliance (files/rootfs/etc/redis/keryu.conf), read last so that it wins.
grep -q '^include /etc/redis/keryu.conf' "$ROOTFS/etc/redis/redis.conf" ||
    echo 'include /etc/redis/keryu.conf' >>"$ROOTFS/etc/redis/redis.conf"

# What starts at boot. SSH stays off until the boot partition asks for it.
systemctl --root="$ROOTFS" enable keryu.target keryu-boot-config.service keryu-growfs.service \
    keryu-init.service keryu-setup-code.service \
    keryu-web.service keryu-scanner.service keryu-worker.service \
    keryu-power-restart.path keryu-power-reboot.path \
    redis-server.service systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
    avahi-daemon.service
systemctl --root="$ROOTFS" disable ssh.service ssh.socket 2>/dev/null || true
systemctl --root="$ROOTFS" set-default multi-user.target
ln -sf ../run/systemd/resolve/stub-resolv.conf "$ROOTFS/etc/resolv.conf"
