#!/usr/bin/env python3
"""Rank a netdata agent's charts by their mean over the last 10 minutes.

    netdata_rank.py http://localhost:19999/ --top 20

The agent's address is taken from the dashboard URL as copied from the browser (a path, query or
#fragment is ignored). Every chart listed by /api/v1/charts is fetched concurrently; the score of a
chart is the mean over its rows of each row's mean (the time column left out).
"""
from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from gather_client import Client, Index


def agent_base(dashboard_url: str) -> str:
    """scheme://host:port of a dashboard URL ("localhost:19999" works too)."""
    if "://" not in dashboard_url:
        dashboard_url = "http://" + dashboard_url
    parts = urlsplit(dashboard_url)
    return f"{parts.scheme}://{parts.netloc}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dashboard", help="the agent's dashboard URL, e.g. http://localhost:19999/")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--server", default=None, help="gatherd address (default: a private one)")
    args = parser.parse_args()
    base = agent_base(args.dashboard)
    with Client(args.server) as g:
        ranking = g.rank(Index(url=f"{base}/api/v1/charts", keys="/charts",
                               template=f"{base}/api/v1/data?chart={{key}}&points=5&after=-600"
                                        "&before=0"),
                         score={"values": "/data", "skip_columns": 1, "row": "mean",
                                "across": "mean"},
                         top=args.top, timeout=5)
    for entry in ranking.top:
        print(f"{entry.rank:3d}  {entry.score:14.3f}  {entry.id}")
    failed = {s: n for s, n in ranking.summary.status_counts.items() if s != "OK"}
    if failed:
        print(f"charts not scored: {failed}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
