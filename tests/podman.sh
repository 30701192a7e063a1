# Sourced by tests/container.sh and tests/systemd.sh: podman on these machines, the
# base images made locally (see ../shared/CONTAINERS.md for why each step is needed
# here), and mastodon-mock on the host. Expects $root (the repository) and $work (a
# scratch folder under target/), and defines say, fail, pm, base_image, rust_image,
# start_mock and statuses.
say() { printf '==> %s\n' "$*"; }
fail() { printf '%s FAILED: %s\n' "${test_name:-test}" "$*" >&2; exit 1; }

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
# make; `podman healthcheck run` runs the check itself.
pm() { podman --runtime runc "$@" 2> >(grep -v 'systemd connection' >&2); }

# --- base images, made once and cached by podman -------------------------------
base_image() {
  pm image exists docker.io/library/debian:bookworm-slim && return
  say "making debian:bookworm-slim with debootstrap"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$work/rootfs" -c . | pm import - docker.io/library/debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
}
rust_image() {
  base_image
  pm image exists docker.io/library/rust:1-slim-bookworm && return
  say "making rust:1-slim-bookworm from this machine's toolchain"
  local toolchain
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
}

# --- mastodon-mock on the host -------------------------------------------------
python=${TODAYIS_TEST_PYTHON:-$root/target/test-venv/bin/python}
port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Starts it on a free port: sets mock_port and mock_pid.
start_mock() {
  "$python" -c 'import mastodon_mock' 2>/dev/null \
    || fail "mastodon-mock is missing: run scripts/test first (it installs it in target/test-venv)"
  mock_port=$(port)
  "$python" -m mastodon_mock serve --in-memory --host 127.0.0.1 --port "$mock_port" --log-level warning >/dev/null 2>&1 &
  mock_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$mock_port/api/v2/instance" >/dev/null && return; sleep 0.1; done
  fail "mastodon-mock did not start"
}
statuses() {
  curl -sf -H "Authorization: Bearer mock_token" "http://127.0.0.1:$mock_port/api/v1/accounts/verify_credentials" \
    | "$python" -c 'import json,sys; print(json.load(sys.stdin)["statuses_count"])'
}
# Waits up to 20 s for the mock to hold at least $1 statuses.
wait_statuses() {
  for _ in $(seq 100); do [ "$(statuses)" -ge "$1" ] && return; sleep 0.2; done
}
# Writes a post for today (in the tests' zone, Europe/London) into folder $1 as
# slug $2 with title $3, and a URL of its own.
todays_post() {
  local md
  md=$(TZ=Europe/London date +%m-%d)
  printf '+++\ntitle = "%s"\ndate = 1950-%s\nurl = "https://todayis.example/%s-%s.html"\n+++\nSomething happened on this day. %s told the world.\n' \
    "$3" "$md" "$2" "$(date +%s)" "$3" > "$1/$md-$2.md"
}
