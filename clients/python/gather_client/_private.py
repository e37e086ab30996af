"""The private gatherd: started for a Client given no address, stopped when it closes.

Like the CLI's: a child process listening on a Unix socket in a fresh 0700 directory, allowed to
reach exactly the hosts the call names (their addresses may be loopback or private: the caller
owns that network), while redirects and next-page URLs that lead elsewhere into loopback or
private addresses stay denied. It ends with the Client (close(), the with block, the garbage
collector, interpreter exit) and, through the kernel's parent-death signal, when the Python
process dies of a signal.

Threading: start() may be called from any thread. The process is forked by one long-lived
launcher thread, because the kernel's parent-death signal fires when the *thread* that forked
ends, not the process.
"""
from __future__ import annotations

import ctypes
import ipaddress
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Iterable, List, Optional

from ._errors import GatherError, ServerNotFound

_PR_SET_PDEATHSIG = 1
_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 5.0


def egress_flags(hosts: Iterable[str]) -> List[str]:
    """gatherd flags that open exactly these hosts: IP literals as /32 or /128, names by name."""
    cidrs, names = [], []
    for host in sorted(set(h for h in hosts if h)):
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
            cidrs.append(f"{ip}/{ip.max_prefixlen}")
        except ValueError:
            names.append(host)
    flags = []
    if cidrs:
        flags.append("--egress_allow=" + ",".join(cidrs))
    if names:
        flags.append("--egress_allow_hosts=" + ",".join(names))
    return flags


def find_gatherd() -> str:
    """$GATHERD, else gatherd next to a `gather` on PATH, else gatherd on PATH."""
    env = os.environ.get("GATHERD", "")
    if env:
        if os.access(env, os.X_OK) and os.path.isfile(env):
            return env
        raise ServerNotFound(f"GATHERD={env} is not an executable file")
    gather = shutil.which("gather")
    if gather:
        beside = os.path.join(os.path.dirname(os.path.realpath(gather)), "gatherd")
        if os.access(beside, os.X_OK):
            return beside
    found = shutil.which("gatherd")
    if found:
        return found
    raise ServerNotFound("no address given and no gatherd found to start a private one: pass "
                         "an address (host:port), set GATHER_SERVER, or put gatherd on PATH "
                         "(or set GATHERD to its path)")


# Looked up here, in the parent: the child of a multi-threaded process must not dlopen.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _in_child() -> None:
    _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


class _Launcher:
    """The one thread that forks private gatherds (see the module comment)."""

    _lock = threading.Lock()
    _requests: "Optional[queue.Queue]" = None

    @classmethod
    def popen(cls, args: List[str], **kwargs) -> subprocess.Popen:
        with cls._lock:
            if cls._requests is None:
                cls._requests = queue.Queue()
                threading.Thread(target=cls._run, name="gatherd-launcher", daemon=True).start()
        done: "queue.Queue" = queue.Queue(maxsize=1)
        cls._requests.put((args, kwargs, done))
        result = done.get()
        if isinstance(result, BaseException):
            raise result
        return result

    @classmethod
    def _run(cls) -> None:
        assert cls._requests is not None
        while True:
            args, kwargs, done = cls._requests.get()
            try:
                done.put(subprocess.Popen(args, preexec_fn=_in_child, **kwargs))
            except BaseException as e:  # handed to the caller
                done.put(e)


class PrivateServer:
    """One private gatherd. Owned by a Client; stop() is idempotent and thread-safe."""

    def __init__(self, hosts: Iterable[str], gatherd: Optional[str] = None) -> None:
        self.hosts = frozenset(hosts)
        binary = gatherd or find_gatherd()
        base = os.environ.get("TMPDIR") or "/tmp"
        if len(base) > 60:  # a Unix socket path must stay short
            base = "/tmp"
        self._dir = tempfile.mkdtemp(prefix="gather-", dir=base)
        self._lock = threading.Lock()
        socket_path = os.path.join(self._dir, "gatherd.sock")
        self.address = "unix:" + socket_path
        log_path = os.path.join(self._dir, "gatherd.log")
        args = [binary, "--listen=unix:" + socket_path, "--log_level=warning",
                "--shutdown_grace=2"] + egress_flags(self.hosts)
        with open(log_path, "wb") as log:
            self._proc: Optional[subprocess.Popen] = _Launcher.popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True, close_fds=True)
        if not self._wait_ready():
            tail = self._log_tail(log_path)
            self.stop()
            raise GatherError(f"the private gatherd ({binary}) did not start" +
                              (":\n" + tail if tail else ""))

    def _wait_ready(self) -> bool:
        assert self._proc is not None and self._proc.stdout is not None
        printed = b""
        deadline = time.monotonic() + _START_TIMEOUT_S
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in printed:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return False
                chunk = os.read(self._proc.stdout.fileno(), 256)
                if not chunk:
                    return False
                printed += chunk
        return b"listening on" in printed

    @staticmethod
    def _log_tail(path: str) -> str:
        try:
            with open(path, "r", errors="replace") as f:
                return "\n".join(f.read().splitlines()[-5:])
        except OSError:
            return ""

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        """SIGTERM, up to 5 s for a clean exit, then SIGKILL; removes the directory."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(_STOP_TIMEOUT_S)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
            shutil.rmtree(self._dir, ignore_errors=True)
