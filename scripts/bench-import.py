#!/usr/bin/env python3
"""Benchmark: whole-process `todayis import blogger` of a generated 5,000-post
GData export (plus as many comments). Target: well under 5 s.

Usage: cargo build --release && scripts/bench-import.py [posts]
"""
import os, subprocess, sys, tempfile, time
from xml.sax.saxutils import escape

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BIN = os.path.join(ROOT, "target", "release", "todayis")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
KIND = "http://schemas.google.com/g/2005#kind"

with tempfile.TemporaryDirectory() as root:
    export = os.path.join(root, "blog.xml")
    with open(export, "w") as f:
        f.write("<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom' "
                "xmlns:app='http://www.w3.org/2007/app'>\n")
        for i in range(N):
            month, day = i % 12 + 1, i % 28 + 1
            html = ("<p>Today in %d something happened, and <b>people</b> still talk about it.</p>" % (1800 + i % 200)
                    + "<p>" + "More words about the event and its consequences. " * 30 + "</p>"
                    + "<div class='post-share-buttons'><a href='#'>Share</a></div>")
            f.write(f"<entry><published>2024-{month:02}-{day:02}T09:00:00.000-08:00</published>"
                    f"<category scheme='{KIND}' term='http://schemas.google.com/blogger/2008/kind#post'/>"
                    f"<category scheme='http://www.blogger.com/atom/ns#' term='History'/>"
                    f"<title type='text'>Today Is...Event number {i}</title>"
                    f"<content type='html'>{escape(html)}</content>"
                    f"<link rel='alternate' type='text/html' href='https://blog.example/2024/{month:02}/event-{i}.html'/></entry>\n"
                    f"<entry><category scheme='{KIND}' term='http://schemas.google.com/blogger/2008/kind#comment'/>"
                    f"<title>Nice</title><content type='html'>Nice!</content></entry>\n")
        f.write("</feed>\n")
    size = os.path.getsize(export) / 1024 / 1024
    out = os.path.join(root, "posts")
    t = time.perf_counter()
    subprocess.run([BIN, "import", "blogger", export, "--out", out], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    files = sum(len(fs) for _, _, fs in os.walk(out))
    print(f"import of {N} posts ({size:.1f} MiB export): {elapsed:.2f} s whole process, {files} files written (target well under 5 s)")
