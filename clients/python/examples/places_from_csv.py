#!/usr/bin/env python3
"""Run one search per row of a CSV file against a POST search API and save the results.

    places_from_csv.py queries.csv --url https://places.example/v1/search --out places.csv

queries.csv has a header row keyword,lat,lng. Each row becomes one POST whose JSON body takes the
row's values ("{keyword}" as a string, {lat} and {lng} as numbers). The API answers
{"places": [{"name", "rating"}, ...]}; each place becomes one output row (the key's items), so
the output has a row per place, with the query it came from.
"""
from __future__ import annotations

import argparse
import csv
import sys

from gather_client import Client, Pages

BODY = '{"textQuery": "{keyword}", "location": {"lat": {lat}, "lng": {lng}}, "limit": 20}'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queries", help="CSV with a header row: keyword,lat,lng")
    parser.add_argument("--url", required=True, help="the search API's URL")
    parser.add_argument("--out", default="places.csv")
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--header", action="append", default=[],
                        help="extra request header NAME:VALUE (e.g. an API key)")
    parser.add_argument("--server", default=None, help="gatherd address (default: a private one)")
    args = parser.parse_args()
    headers = [tuple(h.split(":", 1)) for h in args.header]
    with open(args.queries, newline="", encoding="utf-8") as f, Client(args.server) as g:
        lookup = g.lookup(args.url, keys=csv.DictReader(f), method="POST", body=BODY,
                          headers=headers, idempotent=True,  # a search: safe to retry
                          fields={"name": "/name", "rating": "/rating"},
                          pages=Pages(items="/places"), rate=args.rate)
        df = lookup.to_pandas()
    # The key is the CSV row: spread its columns next to the results.
    queries = df["key"].apply(lambda row: row if isinstance(row, dict) else {})
    for column in ("keyword", "lat", "lng"):
        df[column] = queries.map(lambda row, c=column: row.get(c))
    ok = df[df["status"] == "OK"]
    ok[["seq", "keyword", "lat", "lng", "item", "name", "rating"]].to_csv(args.out, index=False)
    failed = df[~df["status"].isin(["OK", "MISSING"])]
    print(f"{len(ok)} places from {df['seq'].nunique()} queries written to {args.out}; "
          f"{failed['seq'].nunique()} queries failed", file=sys.stderr)
    return 1 if len(failed) else 0


if __name__ == "__main__":
    sys.exit(main())
