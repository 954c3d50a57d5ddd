"""Lighthouse (mobile profile) on pages of the built site, served as GitHub Pages serves it.

The site is served on loopback under a sub-path, gzip-compressed as GitHub Pages compresses it (HTML,
CSS, JS, JSON, SVG, text; not PNG), and Lighthouse 12 runs in its default mobile profile (a Moto G
class phone: 4x CPU slowdown, simulated slow 4G) with the given Chromium::

    python docs/_tools/lighthouse.py docs/_build/html --lighthouse node_modules/.bin/lighthouse \\
        --chromium /usr/bin/chromium index --heaviest 4

Prints one table row per page (scores, LCP, FCP, total blocking time, bytes transferred, DOM nodes) and
exits 1 when a page misses a goal (``GOALS``, ``LIMITS``). ``nox -s lighthouse`` installs Lighthouse and
runs this.

Lighthouse's simulated timings still rest on the trace of one real page load, so they vary from run to
run on a busy machine (total blocking time by 100 ms and more on 2 cores). A page that misses a goal is
therefore measured ``--retries`` more times (2 by default) and judged by its median run (the middle
one by performance score), as Lighthouse's own documentation advises for variable environments; the
table's "runs" column says how many runs a page took.

The 404 page asks search engines not to index it (``robots: noindex``, docs/404.md), which Lighthouse's
SEO category counts against it (``is-crawlable``): on that page, that one audit is expected to fail and
the SEO goal is "no other SEO audit fails".
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import site_server  # docs/_tools: this script's folder

# the goals: scores (0-100) at least, times (ms) and bytes at most
GOALS = {
    "performance": 95,
    "accessibility": 100,
    "best-practices": 100,
    "seo": 100,
}
LIMITS = {
    "largest-contentful-paint": 2000,  # ms
    "total-blocking-time": 150,  # ms
    "total-byte-weight": 400 * 1024,  # bytes transferred (gzip)
}


CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync")


def run_lighthouse(lighthouse: str, chromium: str, url: str, dark: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "report.json")
        flags = CHROME_FLAGS + (" --force-dark-mode --blink-settings=preferredColorScheme=0" if dark else "")
        cmd = [lighthouse, url, "--quiet", "--output=json", f"--output-path={out}",
               f"--chrome-flags={flags} --user-data-dir={tmp}/profile",
               "--only-categories=performance,accessibility,best-practices,seo"]
        env = {**os.environ, "CHROME_PATH": chromium}
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
        if run.returncode != 0 or not out.is_file():
            msg = f"lighthouse failed on {url}:\n{run.stderr[-2000:]}"
            raise RuntimeError(msg)
        return json.loads(out.read_text(encoding="utf-8"))


def summary(report: dict) -> dict:
    audits, cats = report["audits"], report["categories"]
    row = {name: round(100 * (cat["score"] or 0)) for name, cat in cats.items()}
    for key in ("largest-contentful-paint", "first-contentful-paint", "total-blocking-time", "total-byte-weight"):
        row[key] = audits[key]["numericValue"]
    row["dom-size"] = audits.get("dom-size", {}).get("numericValue")
    row["benchmark"] = report.get("environment", {}).get("benchmarkIndex")
    row["failed-audits"] = sorted(
        a["id"] for cat in ("accessibility", "best-practices", "seo") for a in
        (audits[ref["id"]] for ref in cats[cat]["auditRefs"]) if a.get("score") is not None and a["score"] < 1
        and a.get("scoreDisplayMode") not in ("notApplicable", "informative", "manual"))
    return row


# audits that fail on purpose: page -> audit ids (their category's score then does not count)
EXPECTED_FAILURES = {"404": {"is-crawlable"}}


# goals read off the clock of the machine Lighthouse runs on: its simulated phone is this host's CPU
# slowed 4x, so they move with the host (Lighthouse's benchmarkIndex, printed per row, says how fast it was)
TIMING = {"performance", "largest-contentful-paint", "total-blocking-time"}


def misses(row: dict, timings: bool = True) -> list[str]:
    """The goals a row misses; with ``timings=False`` only those that do not depend on the host's speed."""
    expected = EXPECTED_FAILURES.get(row["page"].removesuffix(" (dark)"), set())
    seo_ok = expected and not set(row["failed-audits"]) - expected
    goals = {k: v for k, v in GOALS.items() if timings or k not in TIMING}
    limits = {k: v for k, v in LIMITS.items() if timings or k not in TIMING}
    found = [f"{k} {row[k]} < {v}" for k, v in goals.items() if row.get(k, 0) < v and not (k == "seo" and seo_ok)]
    found += [f"audit {a}" for a in row["failed-audits"] if a not in expected]
    found += [f"{k} {row[k]:.0f} > {v}" for k, v in limits.items() if row[k] > v]
    return found


def heaviest(site: Path, n: int) -> list[str]:
    """The ``n`` pages with the most bytes to load: the HTML (gzipped) and its figures."""
    weights = {}
    for page in site.glob("*.html"):
        if page.stem in {"search", "genindex", "404", "py-modindex"}:
            continue
        html = page.read_bytes()
        images = {m.decode() for m in re.findall(rb'src="(_images/[^"]+)"', html)}
        weights[page.stem] = len(gzip.compress(html)) + sum((site / i).stat().st_size for i in images)
    return sorted(weights, key=weights.get, reverse=True)[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("pages", nargs="*", help="page names, e.g. index 01-attention")
    parser.add_argument("--heaviest", type=int, default=0, help="also the N pages with the most bytes to load")
    parser.add_argument("--all", action="store_true", help="every page of the site")
    parser.add_argument("--retries", type=int, default=2, help="more runs of a page that misses a goal (median)")
    parser.add_argument("--lighthouse", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--dark", action="store_true", help="also measure each page in dark mode")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--no-fail", action="store_true", help="print the table, exit 0")
    parser.add_argument("--timings-advisory", action="store_true",
                        help="print, but do not fail on, the goals that depend on the host's speed "
                             "(performance, LCP, total blocking): fail on the others")
    args = parser.parse_intermixed_args(argv)  # pages may follow options (nox adds its defaults last)
    everything = sorted(p.stem for p in args.site.glob("*.html")) if args.all else []
    pages = list(dict.fromkeys([*args.pages, *heaviest(args.site, args.heaviest), *everything]))
    if not pages:
        parser.error("no pages: name some or use --heaviest N")
    server, base = site_server.serve(args.site, gzip=True)  # gzip, under the sub-path, as Pages serves it
    hard = not args.timings_advisory  # the timing goals fail the run (and earn a page its retries)
    rows = []
    try:
        for page in pages:
            for dark in (False, True) if args.dark else (False,):
                name = page + (" (dark)" if dark else "")
                runs = []
                while not runs or (misses(runs[-1], hard) and len(runs) <= args.retries):
                    row = summary(run_lighthouse(args.lighthouse, args.chromium, f"{base}{page}.html", dark))
                    row["page"] = name
                    runs.append(row)
                    print(f"{name}: performance {row['performance']}, total blocking {row['total-blocking-time']:.0f}"
                          f" ms, LCP {row['largest-contentful-paint'] / 1000:.2f} s", flush=True)
                row = sorted(runs, key=lambda r: (r["performance"], -r["total-blocking-time"]))[len(runs) // 2]
                row["runs"] = len(runs)
                rows.append(row)
    finally:
        server.shutdown()
    print()
    print("| page | performance | accessibility | best practices | SEO | LCP | FCP | total blocking | "
          "transferred | DOM nodes | runs | host benchmark |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['page']} | {r['performance']} | {r['accessibility']} | {r['best-practices']} | {r['seo']} | "
              f"{r['largest-contentful-paint'] / 1000:.2f} s | {r['first-contentful-paint'] / 1000:.2f} s | "
              f"{r['total-blocking-time']:.0f} ms | {r['total-byte-weight'] / 1024:,.0f} KiB | {r['dom-size']:,.0f} | "
              f"{r['runs']} | {r['benchmark'] or 0:,.0f} |")
    for r in rows:
        if m := misses(r):
            print(f"{r['page']}: misses {', '.join(m)}")
    failed = {r["page"]: m for r in rows if (m := misses(r, hard))}
    if not hard and failed:
        print(f"failing (not host-dependent): {failed}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0 if args.no_fail or not failed else 1


if __name__ == "__main__":
    sys.exit(main())
