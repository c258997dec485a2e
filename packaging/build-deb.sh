#!/usr/bin/env bash
# Builds the yizhan .deb (amd64, or the build machine's architecture) from a release build.
#   packaging/build-deb.sh [--binary PATH] [--out DIR]
# The package's Depends are computed from the libraries the binary links (FFmpeg and the C
# library), each mapped to its Debian package with dpkg -S, so they match what it was built with.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="" out="target/debian"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  cargo build --release --locked -p yizhan
  binary=target/release/yizhan
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/yizhan_${version}_${arch}"

install -D -m 0755 "$binary" "$root/usr/bin/yizhan"
strip --strip-debug "$root/usr/bin/yizhan" 2>/dev/null || true
install -D -m 0644 packaging/etc/kiosk.toml "$root/etc/yizhan/kiosk.toml"
install -D -m 0644 packaging/etc/hub.toml "$root/etc/yizhan/hub.toml"
for unit in packaging/systemd/*; do
  install -D -m 0644 "$unit" "$root/lib/systemd/system/$(basename "$unit")"
done
install -D -m 0644 README.md "$root/usr/share/doc/yizhan/README.md"
install -D -m 0644 ARCHITECTURE.md "$root/usr/share/doc/yizhan/ARCHITECTURE.md"
install -d "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
printf '/etc/yizhan/kiosk.toml\n/etc/yizhan/hub.toml\n' > "$root/DEBIAN/conffiles"

# Depends: the package of every shared library the binary needs, and the CJK font the PDFs of
# published items are set in (read at run time, not linked).
deps=$(readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | while read -r lib; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
  [ -n "$path" ] || { echo "no path for $lib" >&2; exit 1; }
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) || true
  [ -n "$pkg" ] || pkg=$(dpkg -S "$path" | head -1 | cut -d: -f1)
  ver=$(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//')
  echo "$pkg (>= $ver)"
done | sort -u | paste -sd, | sed 's/,/, /g')
[ -n "$deps" ] || { echo "could not compute Depends" >&2; exit 1; }
size=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: yizhan
Version: $version
Architecture: $arch
Maintainer: Yizhan developers <yizhan@localhost>
Installed-Size: $size
Depends: adduser, fonts-noto-cjk, $deps
Section: net
Priority: optional
Description: Yizhan (驿站): offline-first village science-station kiosk and hubs
 The kiosk records farmers' consultations with photos and video, fully offline, and syncs
 them over QUIC with mutual TLS to its county hub; county, city and province hubs triage them
 to experts and keep the service clocks. Units: yizhan-kiosk, yizhan-hub, yizhan-backup@.timer.
CONTROL
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/yizhan_${version}_${arch}.deb" >/dev/null
echo "$out/yizhan_${version}_${arch}.deb"
