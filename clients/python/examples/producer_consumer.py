#!/usr/bin/env python3
"""Process lookup results as they arrive: asyncio workers take rows from a queue while gatherd
is still fetching (the producer/consumer pattern of asyncio.gather scripts, without writing the
fetching part).

    producer_consumer.py "https://api.example/v2/entities/{id}" ids.txt --workers 4

The queue is bounded: when the workers fall behind, the lookup stops reading rows, gatherd stops
reading keys, and nothing piles up in memory.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Dict

from gather_client import AsyncClient, Row


async def work(queue: "asyncio.Queue[Row]", totals: Dict[str, int]) -> None:
    while True:
        row = await queue.get()
        try:
            # The processing of one result: here, tally cities (a real job would write or call).
            city = row.fields.get("city") if row.ok else None
            totals[city or f"<{row.status}>"] = totals.get(city or f"<{row.status}>", 0) + 1
        finally:
            queue.task_done()


async def run(template: str, ids_path: str, workers: int, server: str) -> Dict[str, int]:
    totals: Dict[str, int] = {}
    queue: "asyncio.Queue[Row]" = asyncio.Queue(maxsize=1000)
    tasks = [asyncio.create_task(work(queue, totals)) for _ in range(workers)]
    with open(ids_path, encoding="utf-8") as f:
        ids = (line.strip() for line in f if line.strip())
        async with AsyncClient(server) as g:
            async for row in g.lookup(template, keys=ids, fields={"city": "/location/city"}):
                await queue.put(row)  # waits while the workers are busy: backpressure
    await queue.join()
    for task in tasks:
        task.cancel()
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template")
    parser.add_argument("ids", help="a file with one id per line")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--server", default=None, help="gatherd address (default: a private one)")
    args = parser.parse_args()
    totals = asyncio.run(run(args.template, args.ids, args.workers, args.server))
    for name, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{count:8d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
