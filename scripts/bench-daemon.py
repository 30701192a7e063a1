#!/usr/bin/env python3
"""Benchmark: the idle daemon's resident memory and wake-ups, and the delay from a
fire instant to the status reaching mastodon-mock.

Usage: cargo build --release && target/test-venv/bin/python scripts/bench-daemon.py [idle-seconds]
"""
import datetime, glob, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.path.join(ROOT, "target", "release", "todayis")
IDLE = int(sys.argv[1]) if len(sys.argv) > 1 else 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc(pid):
    """(RSS in KiB, voluntary context switches summed over all threads)."""
    rss = switches = 0
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        with open(status) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    switches += int(line.split()[1])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, switches


def bot(root, base, schedule, slug, today):
    os.makedirs(os.path.join(root, "posts"), exist_ok=True)
    with open(os.path.join(root, "posts", today.strftime(f"%m-%d-{slug}.md")), "w") as f:
        f.write(f'+++\ntitle = "Event {slug}"\ndate = 1900-{today:%m-%d}\nurl = "https://todayis.example/{slug}.html"\n+++\nBody.\n')
    with open(os.path.join(root, "todayis.toml"), "w") as f:
        f.write(f'[bot]\nposts = "posts"\ntimezone = "UTC"\nschedule = "{schedule}"\nstate = "state"\ncatch_up = "0"\n\n'
                f'[publishers.mastodon]\ntype = "mastodon"\ninstance = "{base}"\ntoken_env = "TOKEN"\n')
    return os.path.join(root, "todayis.toml")


def start(config):
    return subprocess.Popen([BIN, "--config", config, "run"], env=dict(os.environ, TOKEN="mock_token"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


port = free_port()
mock = subprocess.Popen([sys.executable, "-m", "mastodon_mock", "serve", "--in-memory", "--host", "127.0.0.1",
                         "--port", str(port), "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/api/v2/instance")
            break
        except OSError:
            time.sleep(0.1)
    today = datetime.datetime.now(datetime.timezone.utc).date()

    # Idle: the next fire is months away.
    with tempfile.TemporaryDirectory() as root:
        daemon = start(bot(root, base, "0 3 1 1 *", "idle", today))
        time.sleep(5)
        rss0, sw0 = proc(daemon.pid)
        time.sleep(IDLE)
        rss1, sw1 = proc(daemon.pid)
        daemon.terminate()
        daemon.wait()
    print(f"idle: RSS {rss0 / 1024:.1f} MiB after 5 s, {rss1 / 1024:.1f} MiB after {IDLE + 5} s (target < 10 MiB)")
    print(f"idle: {sw1 - sw0} voluntary context switches in {IDLE} s, all threads "
          f"(target: at most one wake-up a minute)")

    # Fire to request: every 5 s; one status per run (a fresh post each time).
    delays = []
    me = json.load(urllib.request.urlopen(urllib.request.Request(base + "/api/v1/accounts/verify_credentials",
                                                                 headers={"Authorization": "Bearer mock_token"})))
    for i in range(5):
        with tempfile.TemporaryDirectory() as root:
            slug = f"fire{i}-{time.time_ns()}"
            daemon = start(bot(root, base, "*/5 * * * * *", slug, today))
            found = None
            deadline = time.time() + 20
            while found is None and time.time() < deadline:
                time.sleep(0.2)
                req = urllib.request.Request(f"{base}/api/v1/accounts/{me['id']}/statuses?limit=5",
                                             headers={"Authorization": "Bearer mock_token"})
                for s in json.load(urllib.request.urlopen(req)):
                    if slug in s["content"]:
                        found = s
            daemon.terminate()
            daemon.wait()
            if found is None:
                sys.exit("no status arrived")
            created = datetime.datetime.fromisoformat(found["created_at"].replace("Z", "+00:00"))
            fire = created.replace(second=created.second - created.second % 5, microsecond=0)
            delays.append((created - fire).total_seconds() * 1000)
    print(f"fire to status created on the server: median {statistics.median(delays):.1f} ms, "
          f"max {max(delays):.1f} ms over {len(delays)} fires (target < 50 ms)")
finally:
    mock.terminate()
    mock.wait()
