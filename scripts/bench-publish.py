#!/usr/bin/env python3
"""Benchmark: whole-process `todayis publish` (one post to a local mastodon-mock plus
the RSS feed) beside a bare `curl` POST of the same status, run alternately in one
session; and todayis's peak resident memory.

Usage: cargo build --release && target/test-venv/bin/python scripts/bench-publish.py [runs]
(the Python must have mastodon-mock: scripts/test installs it).
"""
import datetime, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.path.join(ROOT, "target", "release", "todayis")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, env=None):
    """Runs a command under GNU time; returns (seconds, peak RSS in KiB). (A child
    forked from Python would report this Python's memory as its own peak.)"""
    if not os.path.exists("/usr/bin/time"):
        sys.exit("needs GNU time: apt-get install time")
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr.decode()}")
    return elapsed, int(p.stderr.decode().strip().splitlines()[-1])


port = free_port()
mock = subprocess.Popen([sys.executable, "-m", "mastodon_mock", "serve", "--in-memory", "--host", "127.0.0.1",
                         "--port", str(port), "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/api/v2/instance")
            break
        except OSError:
            time.sleep(0.1)
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "posts"))
        first = datetime.date(2024, 1, 1)
        dates = [first + datetime.timedelta(days=i) for i in range(RUNS + 1)]
        for d in dates:
            with open(os.path.join(root, "posts", d.strftime("%m-%d-e.md")), "w") as f:
                f.write(f'+++\ntitle = "Event of {d:%d %B}"\ndate = 1900-{d:%m-%d}\n'
                        f'url = "https://todayis.example/{d:%m-%d}.html"\n+++\n'
                        "Something happened on this day. It mattered to many people.\n")
        with open(os.path.join(root, "todayis.toml"), "w") as f:
            f.write(f'[bot]\nposts = "posts"\ntimezone = "Europe/London"\nschedule = "0 9 * * *"\nstate = "state"\n\n'
                    f'[publishers.mastodon]\ntype = "mastodon"\ninstance = "{base}"\ntoken_env = "TOKEN"\n\n'
                    '[publishers.rss]\ntype = "rss"\npath = "public/feed.xml"\nfeed_url = "https://x.example/feed.xml"\n'
                    'title = "T"\nlink = "https://x.example/"\ndescription = "D"\n')
        env = dict(os.environ, TOKEN="mock_token")
        config = os.path.join(root, "todayis.toml")
        # The same status text curl will send, as todayis renders it.
        preview = json.loads(subprocess.check_output([BIN, "--config", config, "preview", "--date", str(dates[0]),
                                                      "--publisher", "mastodon", "--json"], env=env))
        text = preview["outputs"][0]["text"]
        run([BIN, "--config", config, "publish", "--date", str(dates[0])], env)  # warm-up
        ours, theirs, peaks = [], [], []
        for i, d in enumerate(dates[1:]):
            seconds, peak = run([BIN, "--config", config, "publish", "--date", str(d)], env)
            ours.append(seconds)
            peaks.append(peak)
            seconds, _ = run(["curl", "-sf", "-o", "/dev/null", "-X", "POST", base + "/api/v1/statuses",
                              "-H", "Authorization: Bearer mock_token", "-H", f"Idempotency-Key: curl-{i}-{time.time()}",
                              "--data-urlencode", f"status={text}", "-d", "visibility=public", "-d", "language=en"])
            theirs.append(seconds)
    o, c = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    print(f"todayis publish (mastodon + rss): median {o:.1f} ms over {RUNS} runs")
    print(f"curl POST /api/v1/statuses:       median {c:.1f} ms over {RUNS} runs")
    print(f"ratio: {o / c:.2f}x (target <= 1.5x)")
    print(f"todayis peak RSS: max {max(peaks) / 1024:.1f} MiB, median {statistics.median(peaks) / 1024:.1f} MiB (target < 15 MiB)")
finally:
    mock.terminate()
    mock.wait()
