"""The private gatherd ends with the client: on close, and when the Python process is killed."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap

import pytest

from gather_client import Client
from gather_client._private import egress_flags

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once process `pid` has exited (a pidfd turns readable), False after `timeout`."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


def test_close_stops_the_private_server_and_removes_its_socket(gatherd_bin, upstream):
    g = Client()
    g.fetch({"x": upstream.base + "/entities/1"}, fields={"id": "/id"})
    [pid] = g.private_pids()
    address = g._private._servers[0].address
    g.close()
    assert wait_gone(pid)
    assert not os.path.exists(os.path.dirname(address[len("unix:"):]))
    g.close()  # idempotent


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_script_leaves_no_gatherd(gatherd_bin, upstream, sig):
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = {[os.path.dirname(HERE)]!r}
        from gather_client import Client
        g = Client()
        g.fetch({{"x": "{upstream.base}/entities/1"}}, fields={{"id": "/id"}})
        print(g.private_pids()[0], flush=True)
        sys.stdin.read()  # until killed
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    pid = int(proc.stdout.readline())
    assert not wait_gone(pid, 0)
    proc.send_signal(sig)
    proc.wait(10)
    assert wait_gone(pid), f"gatherd {pid} outlived the script killed by {sig.name}"


def test_egress_flags_open_exactly_the_named_hosts():
    assert egress_flags(["127.0.0.1", "localhost", "", "::1", "api.example"]) == [
        "--egress_allow=127.0.0.1/32,::1/128", "--egress_allow_hosts=api.example,localhost"]
    assert egress_flags([]) == []
