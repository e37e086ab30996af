"""The warehouse example against a real PostgreSQL: killed mid-run and run again, it leaves every
id with a location in the table exactly once.

PostgreSQL is a throwaway cluster in a temporary directory, listening only on a Unix socket there,
started by the test and stopped by its PID (as the postgres user when the tests run as root:
initdb refuses root).
"""
from __future__ import annotations

import glob
import os
import pathlib
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile

import psycopg2
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "warehouse_load.py"
IDS = 6000


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} not found (Debian: apt install postgresql)")
    return found[-1]


def wait_gone(pid: int, timeout: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def postgres():
    root = tempfile.mkdtemp(prefix="gather-pg-")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.mkdir(sock)
    demote = None
    if os.getuid() == 0:
        pg = pwd.getpwnam("postgres")
        for path in (root, sock):
            os.chown(path, pg.pw_uid, pg.pw_gid)

        def demote():  # noqa: F811 - runs in the child before exec
            os.setgid(pg.pw_gid)
            os.setuid(pg.pw_uid)
    subprocess.run([pg_bin("initdb"), "-D", data, "-A", "trust", "-U", "gather", "--no-sync",
                    "-E", "UTF8"], check=True, preexec_fn=demote, capture_output=True)
    # pg_ctl -w returns once the server accepts connections; the server is then stopped by the
    # PID it wrote to postmaster.pid.
    subprocess.run([pg_bin("pg_ctl"), "-D", data, "-l", os.path.join(root, "postgres.log"), "-w",
                    "-t", "60", "-o", f"-k {sock} -c listen_addresses= -c fsync=off -p 5432",
                    "start"], check=True, preexec_fn=demote, capture_output=True)
    with open(os.path.join(data, "postmaster.pid")) as f:
        pid = int(f.readline())
    dsn = f"host={sock} port=5432 user=gather dbname=postgres"
    yield dsn
    os.kill(pid, signal.SIGINT)  # fast shutdown
    assert wait_gone(pid, 30), "PostgreSQL did not stop"
    shutil.rmtree(root, ignore_errors=True)


def run_example(dsn: str, template: str, env: dict, until_commits: int = 0):
    """Runs the example; with until_commits, kills it (SIGKILL) after that many commits."""
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--dsn", dsn, "--template", template,
                             "--batch", "1000", "--concurrency", "32"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if until_commits and sum(ln.startswith("committed") for ln in lines) >= until_commits:
            proc.kill()
            break
    proc.wait(120)
    return proc, lines


def test_killed_and_resumed_every_id_with_a_location_is_loaded_once(postgres, upstream,
                                                                     gatherd_bin):
    with psycopg2.connect(postgres) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS entity_location; DROP TABLE IF EXISTS entity_ids;"
                    "CREATE TABLE entity_ids (id bigint PRIMARY KEY);"
                    f"INSERT INTO entity_ids SELECT generate_series(1, {IDS});")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the package under test
    template = upstream.base + "/entities/{id}"

    killed, lines = run_example(postgres, template, env, until_commits=2)
    assert killed.returncode == -signal.SIGKILL, lines
    with psycopg2.connect(postgres) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM entity_location")
        partial = cur.fetchone()[0]
    assert 0 < partial < IDS

    done, lines = run_example(postgres, template, env)
    assert done.returncode == 0, (lines, done.stderr.read())
    assert lines[-1].startswith("done:"), lines

    with_location = [i for i in range(1, IDS + 1) if i % 7 != 0]
    with psycopg2.connect(postgres) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT id) FROM entity_location")
        assert cur.fetchone() == (len(with_location), len(with_location))
        cur.execute("SELECT id FROM entity_location ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == with_location
        cur.execute("SELECT label, city, population FROM entity_location WHERE id = 15")
        assert cur.fetchone() == ("E15", "C5", 15000)
