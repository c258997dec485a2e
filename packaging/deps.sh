#!/usr/bin/env bash
# Installs the Debian 12 packages Yizhan needs, only those missing.
#   packaging/deps.sh        build and run (FFmpeg 5.1 libraries, clang for bindgen, OpenSSL for the
#                            SMS gateway client in accounts/, CJK fonts for the published items' PDFs)
#   packaging/deps.sh test   also the browser tests' Chromium, ChromeDriver and CJK fonts, and
#                            what building and checking the .deb needs (dpkg-dev, binutils,
#                            systemd-analyze), and qpdf and poppler-utils that check the PDFs
set -euo pipefail
pkgs=(pkg-config libssl-dev clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
      libavfilter-dev libavdevice-dev libswresample-dev fonts-noto-cjk)
if [ "${1:-}" = "test" ]; then
  pkgs+=(chromium chromium-driver dpkg-dev binutils systemd qpdf poppler-utils)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
