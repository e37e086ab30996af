#!/usr/bin/env python3
"""Load millions of entities from a rate-limited JSON API into PostgreSQL, exactly once.

    warehouse_load.py --dsn "host=/run/postgresql dbname=wh" \\
        --template "https://api.example/v2/entities/{id}" --rate 150

Reads the ids to look up from the table entity_ids(id) with a server-side cursor (memory stays
flat however many there are), looks each up through gatherd (a private one when no --server or
GATHER_SERVER is given), skips entities without a location, and writes the rest to
entity_location(id, label, city, population) with COPY, one transaction per batch of 10,000.

Killed at any moment, it is simply run again: the cursor selects only ids not yet in
entity_location, a batch is in the table whole or not at all, and the primary key refuses a
duplicate, so every id with a location ends up in the table exactly once.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Iterator, List

import psycopg2

from gather_client import Client, Row

SCHEMA = """
CREATE TABLE IF NOT EXISTS entity_location (
    id bigint PRIMARY KEY,
    label text,
    city text,
    population bigint
)
"""

# Ids still to load. The anti-join is what makes a rerun resume where the last one stopped.
TODO = """
SELECT e.id FROM entity_ids e
WHERE NOT EXISTS (SELECT 1 FROM entity_location l WHERE l.id = e.id)
ORDER BY e.id
"""


def ids_to_load(dsn: str) -> Iterator[int]:
    """The ids not loaded yet, streamed from a server-side (named) cursor on its own connection."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor(name="ids_to_load") as cur:
            cur.itersize = 10_000
            cur.execute(TODO)
            for (entity_id,) in cur:
                yield entity_id
    finally:
        conn.close()


def copy_batch(conn, rows: List[Row]) -> int:
    """Writes the rows with a location in one COPY and commits; returns how many."""
    buf = io.StringIO()
    out = csv.writer(buf)
    n = 0
    for row in rows:
        if not row.ok:  # MISSING: no location (require=); failures are reported below
            continue
        out.writerow([row.key, row.fields["label"], row.fields["city"], row.fields["population"]])
        n += 1
    buf.seek(0)
    with conn.cursor() as cur:
        cur.copy_expert("COPY entity_location (id, label, city, population) "
                        "FROM STDIN WITH (FORMAT csv)", buf)
    conn.commit()
    return n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", required=True, help="libpq connection string of the warehouse")
    parser.add_argument("--template", required=True,
                        help="the API's URL with {id}, e.g. https://api.example/v2/entities/{id}")
    parser.add_argument("--server", default=None, help="gatherd address (default: a private one)")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per COPY transaction")
    parser.add_argument("--rate", type=float, default=None, help="requests per second to the API")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()

    writer = psycopg2.connect(args.dsn)
    with writer.cursor() as cur:
        cur.execute(SCHEMA)
    writer.commit()

    loaded = missing = 0
    failures = {}
    with Client(args.server) as g:
        lookup = g.lookup(args.template, keys=ids_to_load(args.dsn),
                          fields={"label": "/label", "city": "/location/city",
                                  "population": "/location/population"},
                          require=["/location"], rate=args.rate, concurrency=args.concurrency)
        for rows in lookup.batches(args.batch, as_frame=False):
            loaded += copy_batch(writer, rows)
            for r in rows:
                if r.status == "MISSING":
                    missing += 1
                elif not r.ok:
                    failures[r.status] = failures.get(r.status, 0) + 1
            print(f"committed {loaded} rows", flush=True)
    writer.close()
    print(f"done: {loaded} loaded, {missing} without a location, failed: {failures or 'none'}",
          flush=True)
    # Failed ids are not in the table: running again looks them up again.
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
