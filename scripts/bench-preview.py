#!/usr/bin/env python3
"""Benchmark: whole-process `todayis preview --date D` on generated libraries.

The bot opens only the day's files, so 10,000 posts should cost about what 400 do.
Usage: cargo build --release && scripts/bench-preview.py [runs]
"""
import os, statistics, subprocess, sys, tempfile, time

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "todayis")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 60


def library(root, n):
    os.makedirs(os.path.join(root, "posts"))
    for i in range(n):
        day = i % 365
        m, d = divmod(day, 28)
        m, d = m % 12 + 1, d + 1
        folder = os.path.join(root, "posts", f"{m:02}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{m:02}-{d:02}-event-{i}.md"), "w") as f:
            f.write(f'+++\ntitle = "Event {i}"\ndate = {1800 + i % 200}-{m:02}-{d:02}\n'
                    f'url = "https://todayis.example/{i}.html"\ntags = ["History"]\n+++\n'
                    + "Something happened on this day. " * 20 + "\n")
    with open(os.path.join(root, "todayis.toml"), "w") as f:
        f.write('[bot]\nposts = "posts"\ntimezone = "Europe/London"\nschedule = "0 9 * * *"\n\n'
                '[publishers.mastodon]\ntype = "mastodon"\ninstance = "https://mastodon.example"\n'
                'token_env = "T"\nhashtags = ["OnThisDay"]\n\n'
                '[publishers.rss]\ntype = "rss"\npath = "feed.xml"\nfeed_url = "https://x.example/feed.xml"\n'
                'title = "T"\nlink = "https://x.example/"\ndescription = "D"\n')


def median_ms(root):
    cmd = [BIN, "--config", os.path.join(root, "todayis.toml"), "preview", "--date", "2024-02-25"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # warm the page cache
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


results = {}
for n in (400, 10_000):
    with tempfile.TemporaryDirectory() as root:
        library(root, n)
        results[n] = median_ms(root)
        print(f"{n:>6} posts: median {results[n]:.2f} ms over {RUNS} runs")
print(f"ratio 10,000 / 400: {results[10_000] / results[400]:.2f}x (target <= 1.5x, median < 10 ms)")
