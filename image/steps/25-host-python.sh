#!/bin/bash -e
# A small native (build host's architecture) Debian root with the image's Python version, kept
# in $KERYU_IMAGE_CACHE: step 30 byte-compiles the app's venv with it at native speed instead of
# under emulation (bytecode does not depend on the CPU, only on the Python version, which is
# the same Debian release's on both sides). Rebuilt only when its inputs change.
set -o pipefail

stamp=$(echo "$SUITE $MIRROR $TARGET_PYTHON" | sha256sum | cut -c1-16)
if [ -f "$HOST_PYTHON_ROOT/.keryu-host-python-$stamp" ]; then
    echo "host Python $TARGET_PYTHON is up to date ($stamp)"
    exit 0
fi
rm -rf "$HOST_PYTHON_ROOT"
mmdebstrap --quiet --mode=root --variant=essential --include="python$TARGET_PYTHON" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    "$SUITE" "$HOST_PYTHON_ROOT" "$MIRROR"
chroot "$HOST_PYTHON_ROOT" "python$TARGET_PYTHON" --version
touch "$HOST_PYTHON_ROOT/.keryu-host-python-$stamp"
