#!/usr/bin/env bash
# Checks a built yizhan .deb as CI must: its contents and dependencies (dpkg-deb), its systemd
# units (systemd-analyze verify, where any warning fails), then installs it into a throwaway root
# and runs the installed binary: --version, and a kiosk started from the packaged configuration
# that answers /healthz and stops cleanly on SIGTERM.
#   packaging/check-deb.sh target/debian/yizhan_*.deb
set -euo pipefail
deb="$1"
fail() { echo "check-deb: $*" >&2; exit 1; }
work=$(mktemp -d)
kiosk_pid=""
cleanup() { [ -n "$kiosk_pid" ] && kill "$kiosk_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "== contents"
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/yizhan ./etc/yizhan/kiosk.toml ./etc/yizhan/hub.toml \
         ./lib/systemd/system/yizhan-kiosk.service ./lib/systemd/system/yizhan-hub.service \
         ./lib/systemd/system/yizhan-backup@.service ./lib/systemd/system/yizhan-backup@.timer \
         ./usr/share/doc/yizhan/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "$f missing from the package"
done
grep -q ' root/root .* ./usr/bin/yizhan$' <<<"$contents" || fail "files must belong to root"
[ "$(dpkg-deb --field "$deb" Package)" = yizhan ] || fail "package name"
depends=$(dpkg-deb --field "$deb" Depends)
for lib in libavcodec libavformat libavutil libc6 adduser fonts-noto-cjk; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -q conffiles || fail "no conffiles"
echo "Depends: $depends"

echo "== install into a throwaway root"
root="$work/root"
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/yizhan" --version | grep -q '^yizhan ' || fail "--version"

echo "== systemd units"
units="$work/units"
mkdir -p "$units"
for f in "$root"/lib/systemd/system/*; do
  sed "s#/usr/bin/yizhan#$root/usr/bin/yizhan#g" "$f" > "$units/$(basename "$f")"
done
cp "$units/yizhan-backup@.service" "$units/yizhan-backup@kiosk.service"
cp "$units/yizhan-backup@.timer" "$units/yizhan-backup@kiosk.timer"
report=$(cd "$units" && systemd-analyze verify yizhan-kiosk.service yizhan-hub.service \
  yizhan-backup@kiosk.service yizhan-backup@kiosk.timer 2>&1) || fail "systemd-analyze verify: $report"
[ -z "$report" ] || fail "systemd-analyze verify warns: $report"
grep -q '^Restart=always' "$root/lib/systemd/system/yizhan-kiosk.service" || fail "kiosk unit must restart"
grep -q '^User=yizhan' "$root/lib/systemd/system/yizhan-hub.service" || fail "hub unit must drop root"

echo "== a kiosk from the packaged configuration"
# The packaged configuration, with the data directory moved into the throwaway root (the
# environment takes precedence over the file, as the flags do).
log="$work/kiosk.log"
YIZHAN_DATA_DIR="$root/var/lib/yizhan/kiosk" "$root/usr/bin/yizhan" kiosk --config "$root/etc/yizhan/kiosk.toml" >"$log" 2>&1 &
kiosk_pid=$!
for _ in $(seq 1 100); do
  grep -q 'kiosk ready' "$log" && break
  kill -0 "$kiosk_pid" 2>/dev/null || fail "the kiosk stopped: $(cat "$log")"
  sleep 0.2
done
grep -q 'kiosk ready: http://127.0.0.1:8080/' "$log" || fail "the kiosk did not start on the packaged address: $(cat "$log")"
exec 3<>/dev/tcp/127.0.0.1/8080 || fail "cannot connect to the kiosk"
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
head -1 <&3 | grep -q ' 200 ' || fail "/healthz did not answer 200"
exec 3<&-
kill -TERM "$kiosk_pid"
wait "$kiosk_pid" || fail "the kiosk did not stop cleanly on SIGTERM: $(cat "$log")"
kiosk_pid=""
echo "package OK: $deb"
