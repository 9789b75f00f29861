#!/bin/bash -e
# The appliance as wheels for the Pi: the project's own wheel, built from this checkout, every
# dependency and device-wheels.txt as arm64 wheels for the image's Python, fetched here on the
# fast host so that the emulated install inside the root file system needs no network.
set -o pipefail

PY="$REPO_DIR/.venv/bin/python"
[ -x "$PY" ] || PY=python3
rm -rf "$WHEELHOUSE"
mkdir -p "$WHEELHOUSE"

"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" "$REPO_DIR"

platforms=()
for tag in manylinux_2_17_aarch64 manylinux2014_aarch64 manylinux_2_28_aarch64 manylinux_2_34_aarch64 \
    manylinux_2_39_aarch64 linux_aarch64; do
    platforms+=(--platform "$tag")
done

# A dependency published only as a source archive has no arm64 wheel to download; when it is
# pure Python the host builds it (py3-none-any) and the download is tried again.
for attempt in 1 2 3 4 5 6; do
    if "$PY" -m pip download --quiet --only-binary=:all: "${platforms[@]}" \
        --python-version "$TARGET_PYTHON" --implementation cp \
        --find-links "$WHEELHOUSE" --dest "$WHEELHOUSE" "$WHEELHOUSE"/keryu-*.whl 2>"$OUT/pip-download.err"; then
        break
    fi
    missing=$(sed -n 's/.*No matching distribution found for \([A-Za-z0-9_.-]*\).*/\1/p' "$OUT/pip-download.err" | head -n1)
    if [ -z "$missing" ] || [ "$attempt" = 6 ]; then
        cat "$OUT/pip-download.err" >&2
        exit 1
    fi
    echo "building $missing (no arm64 wheel published)"
    "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" "$missing"
    for native in "$WHEELHOUSE"/*-linux_x86_64.whl; do
        if [ -e "$native" ]; then
            echo "10-wheelhouse: $(basename "$native") has native code and no arm64 wheel" >&2
            exit 1
        fi
    done
done
# What the Pi needs beyond the app's dependencies (device-wheels.txt): pinned arm64 wheels, hash-checked.
"$PY" -m pip download --quiet --only-binary=:all: "${platforms[@]}" --python-version "$TARGET_PYTHON" \
    --implementation cp --no-deps --require-hashes --dest "$WHEELHOUSE" -r "$IMAGE_DIR/device-wheels.txt"
wheels=("$WHEELHOUSE"/*.whl)
echo "wheelhouse: ${#wheels[@]} wheels, $(du -sm "$WHEELHOUSE" | cut -f1) MiB"
