#!/usr/bin/env python3
"""Benchmark: whole-process `todayis publish --publisher bluesky` against the local
reference PDS, beside a bare `curl` createRecord of a post, run alternately.

Usage: cargo build --release && scripts/test --no-container (installs the PDS) &&
       scripts/bench-bluesky.py [runs]
"""
import datetime, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.path.join(ROOT, "target", "release", "todayis")
PDS = os.path.join(ROOT, "target", "test-pds", "start.mjs")
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20

with tempfile.TemporaryDirectory() as root:
    pds = subprocess.Popen(["node", PDS, os.path.join(root, "pds")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(pds.stdout.readline())
        os.makedirs(os.path.join(root, "posts"))
        first = datetime.date(2024, 1, 1)
        dates = [first + datetime.timedelta(days=i) for i in range(RUNS + 1)]
        for d in dates:
            with open(os.path.join(root, "posts", d.strftime("%m-%d-e.md")), "w") as f:
                f.write(f'+++\ntitle = "Event of {d:%d %B}"\ndate = 1900-{d:%m-%d}\n'
                        f'url = "https://todayis.example/{d:%m-%d}.html"\ntags = ["History"]\n+++\n'
                        "Something happened on this day. It mattered to many people.\n")
        config = os.path.join(root, "todayis.toml")
        with open(config, "w") as f:
            f.write(f'[bot]\nposts = "posts"\ntimezone = "UTC"\nschedule = "0 9 * * *"\nstate = "state"\n\n'
                    f'[publishers.bluesky]\ntype = "bluesky"\nservice = "{info["url"]}"\nidentifier = "{info["handle"]}"\n'
                    f'password_env = "PASS"\nhashtags = ["OnThisDay"]\n')
        env = dict(os.environ, PASS=info["app_password"])
        run = lambda cmd: (lambda t: (subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env), time.perf_counter() - t)[1])(time.perf_counter())
        run([BIN, "--config", config, "publish", "--date", str(dates[0])])  # logs in once, as a running bot has
        session = json.load(open(os.path.join(root, "state", "bluesky-bluesky.session.json")))
        ours, theirs = [], []
        for i, d in enumerate(dates[1:]):
            ours.append(run([BIN, "--config", config, "publish", "--date", str(d)]))
            record = {"repo": info["did"], "collection": "app.bsky.feed.post",
                      "record": {"$type": "app.bsky.feed.post", "text": f"curl post {i}", "createdAt": "2024-01-01T09:00:00.000Z"}}
            theirs.append(run(["curl", "-sf", "-o", "/dev/null", "-X", "POST", info["url"] + "/xrpc/com.atproto.repo.createRecord",
                               "-H", "Authorization: Bearer " + session["accessJwt"], "-H", "Content-Type: application/json",
                               "-d", json.dumps(record)]))
        o, c = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
        print(f"todayis publish --publisher bluesky: median {o:.1f} ms over {RUNS} runs (getSession, getRecord, createRecord)")
        print(f"curl createRecord:                   median {c:.1f} ms over {RUNS} runs")
        print(f"ratio: {o / c:.2f}x")
    finally:
        pds.terminate()
        pds.wait()
