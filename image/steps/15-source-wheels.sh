#!/bin/bash -e
# arm64 wheels for the packages in SOURCE_WHEELS (C extensions with no published arm64 wheel
# for the image's Python): compiled once in a throwaway arm64 build root made by mmdebstrap,
# then cached in $KERYU_IMAGE_CACHE (default out/), keyed by the package list and the Debian release.
set -o pipefail

[ -n "$SOURCE_WHEELS" ] || exit 0
built="$CACHE/wheels-$(echo "$SUITE $ARCH $SOURCE_WHEELS" | sha256sum | cut -c1-12)"
if [ -f "$built/.done" ]; then
    echo "source wheels cached: $(cd "$built" && echo *.whl)"
    cp "$built"/*.whl "$WHEELHOUSE/"
    exit 0
fi
rm -rf "$built" "$CACHE/sdists"
mkdir -p "$built" "$CACHE/sdists"

PY="$REPO_DIR/.venv/bin/python"
[ -x "$PY" ] || PY=python3
# shellcheck disable=SC2086 # SOURCE_WHEELS is a list of requirement specifiers
"$PY" -m pip download --quiet --no-deps --no-binary=:all: --dest "$CACHE/sdists" $SOURCE_WHEELS

# The build root has a compiler, SWIG and the Python headers; it is deleted afterwards.
# PYPI=1 makes lgpio link its C library statically, as its own PyPI wheels do.
# shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap's hook shell: the build root
mmdebstrap --mode=root --variant=apt --architectures="$ARCH" \
    --include=gcc,libc6-dev,swig,python3-dev,python3-pip,python3-setuptools,python3-wheel \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook="mkdir -p \"\$1/tmp/sdists\" \"\$1/tmp/wheels\" && cp \"$CACHE\"/sdists/* \"\$1/tmp/sdists/\"" \
    --customize-hook='chroot "$1" sh -c "PYPI=1 python3 -m pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels /tmp/sdists/*"' \
    --customize-hook="cp \"\$1\"/tmp/wheels/*.whl \"$built/\"" \
    "$SUITE" /dev/null "$MIRROR"

touch "$built/.done"
cp "$built"/*.whl "$WHEELHOUSE/"
echo "built: $(cd "$built" && echo *.whl)"
