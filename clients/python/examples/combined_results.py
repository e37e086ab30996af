#!/usr/bin/env python3
"""Fetch several named result sets at once and combine them into one document.

    combined_results.py daily=https://api.example/stats/daily hourly=https://api.example/stats/hourly

Each NAME=URL is fetched concurrently; the output is one JSON object {NAME: {fields...}} with a
"errors" member for the sets that failed (the others are still there).
"""
from __future__ import annotations

import argparse
import json
import sys

from gather_client import Client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", help="NAME=URL")
    parser.add_argument("--field", action="append", default=[],
                        help="NAME=/json/pointer to take from each answer (default: the whole body)")
    parser.add_argument("--server", default=None, help="gatherd address (default: a private one)")
    args = parser.parse_args()
    urls = dict(s.split("=", 1) for s in args.sets)
    fields = dict(f.split("=", 1) for f in args.field) or {"body": ""}
    with Client(args.server) as g:
        results = g.fetch(urls, fields=fields)
    combined = {name: r.fields for name, r in results.items() if r.ok}
    errors = {name: {"status": r.status, "error": r.error}
              for name, r in results.items() if not r.ok}
    if errors:
        combined["errors"] = errors
    json.dump(combined, sys.stdout, indent=2)
    print()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
