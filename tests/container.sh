#!/usr/bin/env bash
# The container test: builds the real Dockerfile with podman and runs it against
# mastodon-mock on the host. From a fresh machine it installs podman and makes the
# base images itself (tests/podman.sh).
#
#   tests/container.sh          # needs root (apt-get, podman) and target/test-venv
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
image=localhost/todayis:test
work=$root/target/container-test
mkdir -p "$work"
test_name="container test"
source tests/podman.sh
rust_image

# --- the project's own Dockerfile, unchanged -----------------------------------
say "building $image"
# --format docker keeps the HEALTHCHECK (the OCI format has no place for it).
pm build --pull=never --network=host --format docker -v /etc/ssl/certs:/etc/ssl/certs:ro -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log"; fail "podman build"; }

# --- preview with no mounts ----------------------------------------------------
say "preview in the container"
out=$(pm run --rm --ulimit host "$image" preview --date 2024-02-25)
grep -q "Nikita Khrushchev Denounces Stalin" <<<"$out" || fail "preview: $out"

say "the image: uid, no shell, labels, size"
[ "$(pm image inspect --format '{{.Config.User}}' "$image")" = 10001:10001 ] || fail "the image does not run as uid 10001"
for sh in sh /bin/sh; do
  if out=$(pm run --rm --ulimit host --entrypoint "$sh" "$image" -c true 2>&1); then fail "the image has a shell ($sh)"; fi
  grep -qiE 'not found|no such file' <<<"$out" || fail "--entrypoint $sh failed for another reason: $out"
done
label() { pm image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$image"; }
[ "$(label licenses)" = "MIT OR Apache-2.0" ] || fail "licenses label: $(label licenses)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
[ "$(label version)" = "$version" ] || fail "version label $(label version), Cargo.toml says $version (ARG VERSION in the Dockerfile)"
[ -n "$(label source)" ] || fail "no source label"
[ "$(pm image inspect --format '{{.Config.Healthcheck.Test}}' "$image")" = "[CMD /usr/local/bin/todayis healthcheck]" ] \
  || fail "HEALTHCHECK: $(pm image inspect --format '{{.Config.Healthcheck.Test}}' "$image")"
# Only the binary, the posts, the config, /etc's three files and /data (uid 10001,
# so that a new named volume is writable).
files=$(pm create --name todayis-container-files "$image" >/dev/null && pm export todayis-container-files | tar --numeric-owner -tvf -; pm rm -f todayis-container-files >/dev/null)
grep -qE '^d[rwx-]{9} 10001/10001 .* data/$' <<<"$files" || fail "/data is not owned by 10001: $(grep ' data/$' <<<"$files")"
extra=$(awk '{print $6}' <<<"$files" | grep -vE '^(usr/|usr/local/|usr/local/bin/|usr/local/bin/todayis|etc/|etc/(passwd|group|nsswitch.conf|hosts|resolv.conf|hostname)|data/|app/|app/config/|app/config/todayis.toml|app/posts/.*|dev/|proc/|sys/|run/.*)$' || true)
[ -z "$extra" ] || fail "unexpected files in the image: $extra"
size=$(pm image inspect --format '{{.Size}}' "$image")
[ "$size" -lt $((15 * 1024 * 1024)) ] || fail "the image is $size bytes, over 15 MiB"

# --- the daemon against mastodon-mock on the host ------------------------------
start_mock
http_port=$(port)
name=todayis-container-test
cleanup() { pm rm -f "$name" >/dev/null 2>&1 || true; kill "$mock_pid" 2>/dev/null || true; }
trap cleanup EXIT

case_dir=$work/case
rm -rf "$case_dir"; mkdir -p "$case_dir/posts" "$case_dir/config" "$case_dir/data" "$case_dir/secrets"
todays_post "$case_dir/posts" container "The Container Test"
cat > "$case_dir/config/todayis.toml" <<CONF
[bot]
posts = "/posts"
timezone = "Europe/London"
schedule = "* * * * *"
catch_up = "5m"
state = "/data/state"
[server]
listen = "127.0.0.1:$http_port"
[publishers.mastodon]
type = "mastodon"
instance = "http://localhost:$mock_port"     # a host name: resolved inside the container
token_file = "/run/secrets/mastodon_token"
[publishers.rss]
type = "rss"
path = "/data/public/feed.xml"
feed_url = "https://todayis.example/feed.xml"
title = "Today Is..."
link = "https://todayis.example/"
description = "What happened"
CONF
printf 'mock_token\n' > "$case_dir/secrets/mastodon_token"
chown -R 10001:10001 "$case_dir/data"
chmod 0444 "$case_dir/secrets/mastodon_token"

start() {
  pm run -d --name "$name" --ulimit host --network=host --read-only --tmpfs /tmp \
    -v "$case_dir/data:/data" -v "$case_dir/config:/config:ro" -v "$case_dir/posts:/posts:ro" \
    -v "$case_dir/secrets/mastodon_token:/run/secrets/mastodon_token:ro" \
    -e TODAYIS_CONFIG=/config/todayis.toml -e TODAYIS_LOG_FORMAT=json "$image" >/dev/null
}
say "running the daemon in the container (read-only, non-root, JSON logs)"
start
wait_statuses 1
[ "$(statuses)" = 1 ] || { pm logs "$name" | tail -20; fail "expected one status, found $(statuses)"; }
pm logs "$name" 2>&1 | grep '"message":"published"' | head -1 | "$python" -c 'import json,sys; r=json.loads(sys.stdin.read()); assert r["publisher"] in ("mastodon","rss"), r' \
  || fail "the logs are not JSON lines with the publication"
[ "$(pm top "$name" user | tail -1 | tr -d ' ')" = todayis ] || fail "the daemon does not run as todayis"

say "health check"
healthy=no
for _ in $(seq 50); do pm healthcheck run "$name" >/dev/null 2>&1 && { healthy=yes; break; }; sleep 0.2; done
[ $healthy = yes ] || fail "the health check never passed"

pid=$(pm inspect --format '{{.State.Pid}}' "$name")
rss_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")

say "SIGTERM"
t0=$(date +%s.%N)
pm stop -t 10 "$name" >/dev/null
t1=$(date +%s.%N)
code=$(pm inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 10) }' || fail "took 10 s or more to stop"

say "restart with the same /data"
pm rm "$name" >/dev/null
start
sleep 5
[ "$(statuses)" = 1 ] || fail "a second status after restart"
# One publication journaled (an "intent" line before it, in the journal's newer form).
[ "$(grep '"publisher":"mastodon"' "$case_dir/data/state/journal.jsonl" | grep -vc '"event":"intent"')" = 1 ] \
  || fail "journal: $(cat "$case_dir/data/state/journal.jsonl")"
pm rm -f "$name" >/dev/null

awk -v s="$size" -v r="$rss_kib" 'BEGIN { printf "figures: image %.2f MiB (limit 15); idle daemon RSS %.1f MiB with the HTTP side on\n", s / 1048576, r / 1024 }'
echo "container test: 1 passed, 0 failed"
