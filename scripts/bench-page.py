#!/usr/bin/env python3
"""The daemon's page at / with a journal of ten years (3,650 dates x 3 publishers):
how long it takes to answer (over loopback, so an upper bound of the server's
time), /healthz meanwhile, and the idle daemon's memory with the page enabled.
`cargo build --release` first. No counterpart needed: the publishers point at a
closed loopback port (the hourly engagement read fails in its own task)."""
import datetime, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.path.join(root, "target/release/todayis")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

with tempfile.TemporaryDirectory() as d:
    os.makedirs(f"{d}/posts", exist_ok=True)
    day = datetime.date(2024, 1, 1)
    while day.year == 2024:
        md = day.strftime("%m-%d")
        with open(f"{d}/posts/{md}-event.md", "w") as f:
            f.write(f'+++\ntitle = "Event of {md}"\ndate = 1950-{md}\nurl = "https://todayis.example/{md}.html"\ntags = ["History"]\n+++\nIt happened.\n')
        day += datetime.timedelta(days=1)
    dead, port = free_port(), free_port()
    with open(f"{d}/todayis.toml", "w") as f:
        f.write(f'''[bot]
posts = "posts"
timezone = "Europe/London"
schedule = "0 9 * * *"
state = "state"
[server]
listen = "127.0.0.1:{port}"
[publishers.mastodon]
type = "mastodon"
instance = "http://127.0.0.1:{dead}"
token_env = "T"
[publishers.bluesky]
type = "bluesky"
service = "http://127.0.0.1:{dead}"
identifier = "bot.test"
password_env = "T"
[publishers.rss]
type = "rss"
path = "public/feed.xml"
feed_url = "https://todayis.example/feed.xml"
title = "t"
link = "https://todayis.example/"
description = "d"
''')
    os.makedirs(f"{d}/state")
    today = datetime.date.today()
    with open(f"{d}/state/journal.jsonl", "w") as f:
        for i in range(3650, 0, -1):
            date = today - datetime.timedelta(days=i)
            md = date.strftime("%m-%d")
            if md == "02-29": md = "02-28"
            for name, account, url in [("mastodon", f"mastodon http://127.0.0.1:{dead}", f"https://m.example/@bot/{i}"),
                                       ("bluesky", f"bluesky http://127.0.0.1:{dead} bot.test", f"https://bsky.app/profile/bot.test/post/{i}"),
                                       ("rss", "rss feed", f"https://todayis.example/{md}.html")]:
                sent = {"digest": "0" * 64, "output": {"type": name, "text": "On this day in 1950: Event of " + md + "\n\nIt happened.\n\nhttps://todayis.example/" + md + ".html #OnThisDay #History"}}
                f.write(json.dumps({"date": str(date), "publisher": name, "account": account, "event": "done", "post": f"{md}-event.md",
                                    "key": f"todayis-{date}-{i:032x}", "remote_id": f"at://did:plc:x/app.bsky.feed.post/{i}" if name == "bluesky" else str(i),
                                    "url": url, "sent": sent, "at": f"{date}T09:00:01Z"}) + "\n")
    size = os.path.getsize(f"{d}/state/journal.jsonl")
    daemon = subprocess.Popen([binary, "--config", f"{d}/todayis.toml", "run"], env={**os.environ, "T": "x", "RUST_LOG": "error"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if urllib.request.urlopen(base + "/", timeout=2).status == 200: break
            except Exception: time.sleep(0.1)
        def timed(path, n):
            out = []
            for _ in range(n):
                t = time.perf_counter(); body = urllib.request.urlopen(base + path, timeout=5).read(); out.append((time.perf_counter() - t) * 1000)
            return out, len(body)
        page, length = timed("/", 200)
        health, _ = timed("/healthz", 200)
        time.sleep(2)
        rss = int([l for l in open(f"/proc/{daemon.pid}/status") if l.startswith("VmRSS")][0].split()[1])
        print(f"journal: {size / 1e6:.1f} MB, {3650 * 3} records; page {length / 1024:.0f} KiB")
        print(f"GET /        median {statistics.median(page):.2f} ms, p95 {sorted(page)[189]:.2f} ms, max {max(page):.2f} ms (200 requests, over loopback)")
        print(f"GET /healthz median {statistics.median(health):.2f} ms, p95 {sorted(health)[189]:.2f} ms")
        print(f"idle daemon after 400 requests: VmRSS {rss / 1024:.1f} MiB")
    finally:
        daemon.terminate(); daemon.wait()
    # The same daemon without the HTTP side, for comparison.
    config = open(f"{d}/todayis.toml").read().replace(f'[server]\nlisten = "127.0.0.1:{port}"\n', "")
    open(f"{d}/todayis.toml", "w").write(config)
    daemon = subprocess.Popen([binary, "--config", f"{d}/todayis.toml", "run"], env={**os.environ, "T": "x", "RUST_LOG": "error"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    rss = int([l for l in open(f"/proc/{daemon.pid}/status") if l.startswith("VmRSS")][0].split()[1])
    print(f"the same daemon without [server]: VmRSS {rss / 1024:.1f} MiB")
    daemon.terminate(); daemon.wait()
