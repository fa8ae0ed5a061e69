#!/usr/bin/env bash
# Debian packages the browser tests need, installed only when missing:
# Debian's Chromium (Playwright drives it; no browser download) and CJK fonts, since pages
# show Chinese text that would otherwise render as boxes in screenshots.
set -euo pipefail
packages=(chromium fonts-noto-cjk)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
