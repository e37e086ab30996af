"""The examples run as a user runs them, against the local upstream (a private gatherd each)."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(name, *args, cwd=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


def test_netdata_rank_takes_the_dashboard_url_as_copied(gatherd_bin, upstream):
    done = run("netdata_rank.py", upstream.base + "/#menu_system;theme=slate", "--top", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[-1] for line in lines] == ["b", "c"]


def test_places_from_csv(gatherd_bin, upstream, tmp_path):
    queries = tmp_path / "queries.csv"
    queries.write_text('keyword,lat,lng\npizza "napoli",40.5,14.2\ncafé,48.8,2.3\n',
                       encoding="utf-8")
    out = tmp_path / "places.csv"
    done = run("places_from_csv.py", str(queries), "--url", upstream.base + "/places",
               "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "seq,keyword,lat,lng,item,name,rating"
    assert sorted(rows[1:]) == sorted([
        '0,"pizza ""napoli""",40.5,14.2,0,"pizza ""napoli"" #0",40.5',
        '0,"pizza ""napoli""",40.5,14.2,1,"pizza ""napoli"" #1",41.5',
        "1,café,48.8,2.3,0,café #0,48.8", "1,café,48.8,2.3,1,café #1,49.8"])


def test_combined_results_keep_the_sets_that_worked(gatherd_bin, upstream):
    done = run("combined_results.py", f"daily={upstream.base}/entities/3",
               f"hourly={upstream.base}/fail", "--field", "label=/label")
    assert done.returncode == 1
    combined = json.loads(done.stdout)
    assert combined["daily"] == {"label": "E3"}
    assert combined["errors"]["hourly"]["status"] == "HTTP_ERROR"


def test_producer_consumer(gatherd_bin, upstream, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{i}\n" for i in range(1, 701)))
    done = run("producer_consumer.py", upstream.base + "/entities/{id}", str(ids))
    assert done.returncode == 0, done.stderr
    totals = {line.split()[1]: int(line.split()[0]) for line in done.stdout.splitlines()}
    assert sum(totals.values()) == 700
    assert totals["<OK>"] == 100  # ids divisible by 7 have no location (city None, status OK)
    assert totals["C1"] == len([i for i in range(1, 701) if i % 7 and i % 10 == 1])
