#!/usr/bin/env bash
# The container test: builds the real Dockerfile with podman and runs it against
# mastodon-mock on the host. From a fresh machine it installs podman and makes the
# base images itself (see ../shared/CONTAINERS.md for why each step is needed here).
#
#   tests/container.sh          # needs root (apt-get, podman) and target/test-venv
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
image=localhost/todayis:test
work=$root/target/container-test
mkdir -p "$work"
say() { printf '==> %s\n' "$*"; }
fail() { printf 'container test FAILED: %s\n' "$*" >&2; exit 1; }

# --- podman and its settings on these machines ---------------------------------
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing podman, runc and debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi
export CONTAINERS_CONF=$work/containers.conf
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
CONF
# Without systemd, podman logs an error for every health-check timer it cannot
# make; `podman healthcheck run` below runs the check itself.
pm() { podman --runtime runc "$@" 2> >(grep -v 'systemd connection' >&2); }

# --- base images, made once and cached by podman -------------------------------
if ! pm image exists docker.io/library/debian:bookworm-slim; then
  say "making debian:bookworm-slim with debootstrap"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$work/rootfs" -c . | pm import - docker.io/library/debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi
if ! pm image exists docker.io/library/rust:1-slim-bookworm; then
  say "making rust:1-slim-bookworm from this machine's toolchain"
  toolchain=$(rustc --print sysroot)
  cat > "$work/builder.Containerfile" <<'CONF'
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/rustup/toolchain /usr/local/cargo/bin \
    && cp -a /host-toolchain/bin /host-toolchain/lib /usr/local/rustup/toolchain/ \
    && for b in cargo rustc rustdoc; do ln -s /usr/local/rustup/toolchain/bin/$b /usr/local/cargo/bin/$b; done \
    && cargo --version && rustc --version
CONF
  pm build --pull=never --network=host -v "$toolchain:/host-toolchain:ro" \
    -t docker.io/library/rust:1-slim-bookworm -f "$work/builder.Containerfile" "$work" >"$work/builder.log" 2>&1 \
    || { tail -30 "$work/builder.log"; fail "building the Rust builder image"; }
fi

# --- the project's own Dockerfile, unchanged -----------------------------------
say "building $image"
# --format docker keeps the HEALTHCHECK (the OCI format has no place for it).
pm build --pull=never --network=host --format docker -v /etc/ssl/certs:/etc/ssl/certs:ro -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log"; fail "podman build"; }

# --- preview with no mounts ----------------------------------------------------
say "preview in the container"
out=$(pm run --rm --ulimit host "$image" preview --date 2024-02-25)
grep -q "Nikita Khrushchev Denounces Stalin" <<<"$out" || fail "preview: $out"
[ "$(pm run --rm --ulimit host --entrypoint id "$image" -u)" = 10001 ] || fail "the image does not run as uid 10001"

# --- the daemon against mastodon-mock on the host ------------------------------
python=${TODAYIS_TEST_PYTHON:-$root/target/test-venv/bin/python}
"$python" -c 'import mastodon_mock' 2>/dev/null || fail "mastodon-mock is missing: run scripts/test first (it installs it in target/test-venv)"
port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port=$(port); http_port=$(port)
"$python" -m mastodon_mock serve --in-memory --host 127.0.0.1 --port "$mock_port" --log-level warning >/dev/null 2>&1 &
mock_pid=$!
name=todayis-container-test
cleanup() { pm rm -f "$name" >/dev/null 2>&1 || true; kill "$mock_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mock_port/api/v2/instance" >/dev/null && break; sleep 0.1; done

case_dir=$work/case
rm -rf "$case_dir"; mkdir -p "$case_dir/posts" "$case_dir/config" "$case_dir/data" "$case_dir/secrets"
md=$(TZ=Europe/London date +%m-%d)
cat > "$case_dir/posts/$md-container.md" <<POST
+++
title = "The Container Test"
date = 1950-$md
url = "https://todayis.example/container-$(date +%s).html"
+++
Something happened on this day. The container told the world.
POST
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
instance = "http://127.0.0.1:$mock_port"
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
statuses() {
  curl -sf -H "Authorization: Bearer mock_token" "http://127.0.0.1:$mock_port/api/v1/accounts/verify_credentials" \
    | "$python" -c 'import json,sys; print(json.load(sys.stdin)["statuses_count"])'
}

say "running the daemon in the container (read-only, non-root, JSON logs)"
start
for _ in $(seq 100); do [ "$(statuses)" -ge 1 ] && break; sleep 0.2; done
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
grep -c '"publisher":"mastodon"' "$case_dir/data/state/journal.jsonl" | grep -qx 1 || fail "journal"
pm rm -f "$name" >/dev/null

base_size=$(pm image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
size=$(pm image inspect --format '{{.Size}}' "$image")
echo "figures: image $((size / 1024 / 1024)) MiB, of which the runtime stage adds $(((size - base_size) / 1024)) KiB on top of debian:bookworm-slim; idle daemon RSS $((rss_kib / 1024)) MiB"
echo "container test: 1 passed, 0 failed"
