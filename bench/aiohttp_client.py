#!/usr/bin/env python3
"""The script gather replaces, as our users write it: aiohttp with TCPConnector(limit=100) and
asyncio.gather over every key, each JSON answer parsed and 9 fields kept, rows written to CSV at
the end. Used by bench/run_bench.py as the baseline; loopback only.

    aiohttp_client.py URL_PREFIX N OUT.csv [LIMIT]
prints one JSON line: {"requests":N,"ok":K,"seconds":S,"rps":R}
"""
import asyncio
import csv
import json
import sys
import time

import aiohttp

FIELDS = [
    ("label", ("label",)),
    ("geo", ("location", "geoLabel")),
    ("street", ("location", "streetAddress")),
    ("city", ("location", "cityLabel")),
    ("postal", ("location", "postalCode")),
    ("country", ("location", "countryLabel")),
    ("lat", ("location", "latitude")),
    ("lon", ("location", "longitude")),
    ("type", ("type",)),
]


def pick(doc, path):
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


async def fetch(session, key, url):
    async with session.get(url) as response:
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        doc = await response.json()
        if doc.get("location") is None:
            return None
        return [key] + [pick(doc, path) for _, path in FIELDS]


async def main(prefix, n, limit):
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [fetch(session, str(i), f"{prefix}{i}") for i in range(1, n + 1)]
        return await asyncio.gather(*tasks, return_exceptions=True)


def run():
    prefix, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    t0 = time.perf_counter()
    results = asyncio.run(main(prefix, n, limit))
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["key"] + [name for name, _ in FIELDS])
        for row in results:
            if isinstance(row, list):
                writer.writerow(row)
    seconds = time.perf_counter() - t0
    ok = sum(1 for r in results if isinstance(r, list))
    print(json.dumps({"requests": n, "ok": ok, "seconds": round(seconds, 4),
                      "rps": round(n / seconds, 1)}))


if __name__ == "__main__":
    run()
