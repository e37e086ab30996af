"""Fixtures: the gatherd binary (GATHERD, else the repository's build), a local upstream, and a
gatherd on a loopback port for the tests that pass an address."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if os.environ.get("GATHER_CLIENT_INSTALLED") != "1":
    sys.path.insert(0, str(HERE.parent))  # the package from the source tree

from upstream import Upstream  # noqa: E402


@pytest.fixture(scope="session")
def gatherd_bin() -> str:
    path = os.environ.get("GATHERD") or str(HERE.parents[2] / "build" / "bin" / "gatherd")
    if not os.access(path, os.X_OK):
        pytest.fail(f"gatherd not found at {path}: build it (scripts/build) or set GATHERD")
    os.environ["GATHERD"] = path  # what Client() with no address starts
    os.environ.pop("GATHER_SERVER", None)
    return path


@pytest.fixture(scope="session")
def upstream():
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture(scope="session")
def server(gatherd_bin):
    """A gatherd on 127.0.0.1 (port 0) allowed to reach the loopback upstream."""
    proc = subprocess.Popen([gatherd_bin, "--listen=127.0.0.1:0", "--log_level=warning",
                             "--egress_allow=127.0.0.1/32", "--shutdown_grace=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert "listening on" in line, line
    address = line.strip().rsplit(" ", 1)[-1]
    yield address
    proc.terminate()
    proc.wait(10)
