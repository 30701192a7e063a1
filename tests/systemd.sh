#!/usr/bin/env bash
# The systemd unit's test (dist/todayis.service with dist/todayis.toml):
#  1. `systemd-analyze verify` and `systemd-analyze security --offline=yes` (the
#     exposure score must stay in the "OK" band or better: 4.9 at most), and the
#     example config loads;
#  2. live: systemd as PID 1 in a podman container runs the unit as shipped against
#     mastodon-mock on the host: one status, the token through LoadCredential=, a
#     dynamic user, the state folder the only writable place, reload (SIGHUP), a
#     restart after a crash without a second status, a clean stop.
#
#   tests/systemd.sh             # needs root (apt-get, podman) and target/test-venv
#   tests/systemd.sh --no-live   # step 1 only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/systemd-test
unit=dist/todayis.service
config=dist/todayis.toml
rm -rf "$work/etc"; mkdir -p "$work/etc"
test_name="systemd test"
say() { printf '==> %s\n' "$*"; }
fail() { printf '%s FAILED: %s\n' "$test_name" "$*" >&2; exit 1; }

if ! command -v systemd-analyze >/dev/null; then
  say "installing systemd"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
bin=${TODAYIS_BIN:-$root/target/debug/todayis}
[ -x "$bin" ] || cargo build --locked --bin todayis

# --- 1. the unit and the config, without running them -------------------------
say "systemd-analyze verify $unit"
# verify wants ExecStart's binary where the unit says; here it is the one just built.
sed "s|/usr/local/bin/todayis|$bin|" "$unit" > "$work/todayis.service"
out=$(cd "$work" && systemd-analyze verify todayis.service 2>&1) || fail "verify: $out"
[ -z "$out" ] || fail "verify warns: $out"

say "systemd-analyze security --offline=yes $unit"
report=$(cd dist && systemd-analyze security --offline=yes --threshold=49 todayis.service 2>&1) \
  || { printf '%s\n' "$report" | grep '✗'; fail "the exposure is over 4.9: $(tail -1 <<<"$report")"; }
exposure=$(sed -n 's/.*Overall exposure level for todayis.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' <<<"$report")
[ -n "$exposure" ] || fail "no score in: $(tail -3 <<<"$report")"

say "the example config loads"
cp "$config" "$work/etc/todayis.toml"
cp -r posts "$work/etc/posts"
out=$("$bin" --config "$work/etc/todayis.toml" preview --date 2024-02-25 2>&1) || fail "dist/todayis.toml: $out"
grep -q "Nikita Khrushchev Denounces Stalin" <<<"$out" || fail "preview with dist/todayis.toml: $out"

if [ "${1:-}" = "--no-live" ]; then
  echo "figures: systemd-analyze security exposure $exposure"
  echo "systemd test: 1 passed, 0 failed"
  exit 0
fi

# --- 2. live, under systemd in a container -------------------------------------
source tests/podman.sh
base_image
image=localhost/todayis-systemd:test
if ! pm image exists "$image"; then
  say "making $image (Debian with systemd as PID 1)"
  cat > "$work/Containerfile" <<'CONF'
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv procps util-linux \
    && rm -rf /var/lib/apt/lists/*
CMD ["/sbin/init"]
CONF
  pm build --pull=never --network=host -v /etc/ssl/certs:/etc/ssl/certs:ro -t "$image" -f "$work/Containerfile" "$work" \
    >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "building $image"; }
fi

start_mock
name=todayis-systemd-test
cleanup() { pm rm -f "$name" >/dev/null 2>&1 || true; kill "$mock_pid" 2>/dev/null || true; }
trap cleanup EXIT
pm rm -f "$name" >/dev/null 2>&1 || true
# --privileged: the unit's sandbox needs mount and user namespaces inside the container.
pm run -d --name "$name" --privileged --systemd=always --ulimit host --network=host "$image" >/dev/null
sd() { pm exec "$name" "$@"; }
for _ in $(seq 100); do
  state=$(sd systemctl is-system-running 2>/dev/null || true)
  [ "$state" = running ] || [ "$state" = degraded ] && break
  sleep 0.2
done
# systemd leaves / private inside a container; LoadCredential= mounts the credentials
# from a child namespace and needs the mount to propagate back to PID 1's.
sd mount --make-rshared /

mkdir -p "$work/etc/live/posts"
todays_post "$work/etc/live/posts" unit "The Unit Test"
# The shipped config, but for the mock (a host name: resolved by the service) and a
# schedule that fires every minute.
sed -e "s|^instance = .*|instance = \"http://localhost:$mock_port\"|" \
    -e 's|^schedule = .*|schedule = "* * * * *"|' -e 's|^catch_up = .*|catch_up = "5m"|' \
    "$config" > "$work/etc/live/todayis.toml"
grep -q "localhost:$mock_port" "$work/etc/live/todayis.toml" || fail "dist/todayis.toml has no instance line to point at the mock"
printf 'mock_token\n' > "$work/etc/live/mastodon_token"
sd mkdir -p /etc/todayis
pm cp "$work/etc/live/." "$name:/etc/todayis/"
sd chmod 0600 /etc/todayis/mastodon_token
pm cp "$bin" "$name:/usr/local/bin/todayis"
pm cp "$unit" "$name:/etc/systemd/system/todayis.service"

say "systemd-analyze verify, installed"
out=$(sd systemd-analyze verify /etc/systemd/system/todayis.service 2>&1) || fail "verify: $out"
[ -z "$out" ] || fail "verify warns: $out"

say "systemctl start todayis"
sd systemctl daemon-reload
sd systemctl start todayis
wait_statuses 1
journal() { sd journalctl -u todayis -o cat --no-pager; }
[ "$(statuses)" = 1 ] || { journal | tail -20; fail "expected one status, found $(statuses)"; }
journal | grep -q 'published publisher=mastodon' || { journal | tail -20; fail "no publication in the journal"; }
pid=$(sd systemctl show -p MainPID --value todayis)
uid=$(sd awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "not a dynamic user: uid $uid"
sd test -s /var/lib/private/todayis/state/journal.jsonl || fail "no journal in the state folder"
sd /usr/local/bin/todayis --config /etc/todayis/todayis.toml healthcheck || fail "healthcheck"

say "the sandbox: only the state folder is writable"
sd nsenter -t "$pid" -m touch /var/lib/todayis/probe || fail "the state folder is not writable"
for path in /etc/todayis/probe /usr/local/probe /var/probe /root/probe; do
  if sd nsenter -t "$pid" -m touch "$path" 2>/dev/null; then fail "$path is writable for the service"; fi
done

say "systemctl reload todayis (SIGHUP)"
sd sed -i 's/^hashtags = .*/hashtags = ["OnThisDay"]/' /etc/todayis/todayis.toml
sd systemctl reload todayis
for _ in $(seq 50); do journal | grep -q 'reloaded the config' && break; sleep 0.1; done
journal | grep -q 'reloaded the config' || { journal | tail -5; fail "no reload"; }
sd sh -c 'echo "[bot" >> /etc/todayis/todayis.toml'
sd systemctl reload todayis
for _ in $(seq 50); do journal | grep -q 'reload refused' && break; sleep 0.1; done
journal | grep -q 'reload refused' || { journal | tail -5; fail "a broken config was not refused"; }
[ "$(sd systemctl show -p MainPID --value todayis)" = "$pid" ] || fail "reload restarted the daemon"
sd sed -i '$d' /etc/todayis/todayis.toml

say "Restart=on-failure after SIGKILL, no second status"
sd systemctl kill -s SIGKILL todayis
restarted=no
for _ in $(seq 150); do
  new=$(sd systemctl show -p MainPID --value todayis)
  [ "$new" != 0 ] && [ "$new" != "$pid" ] && [ "$(sd systemctl is-active todayis)" = active ] && { restarted=yes; break; }
  sleep 0.2
done
[ $restarted = yes ] || fail "not restarted after a crash"
sleep 3
[ "$(statuses)" = 1 ] || fail "a second status after the restart"

say "systemctl stop todayis"
t0=$(date +%s.%N)
sd systemctl stop todayis
t1=$(date +%s.%N)
[ "$(sd systemctl show -p Result --value todayis)" = success ] || fail "stop: $(sd systemctl show -p Result --value todayis)"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 10) }' || fail "took 10 s or more to stop"

echo "figures: systemd-analyze security exposure $exposure"
echo "systemd test: 1 passed, 0 failed"
