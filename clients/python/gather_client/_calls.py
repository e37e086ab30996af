"""What the sync and asyncio clients share: connection options, the private servers they start,
and the bookkeeping of one lookup (which keys are out, how rows and the summary are decoded)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import grpc

from . import _requests as req
from ._errors import GatherError
from ._pb import gather_pb2 as pb
from ._private import PrivateServer
from ._rows import (Ranking, Row, Summary, lookup_summary_from_pb, rank_summary_from_pb,
                    ranked_from_pb, result_from_pb, row_from_pb)

SERVICE = "/gather.v1.Gather/"
# Results batches are ~1 MB; a job's row may carry fields up to the body cap.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]


@dataclass(frozen=True)
class Connection:
    """How to reach gatherd: an address (host:port or unix:PATH), or None for a private one."""

    address: Optional[str]
    token: Optional[str]
    ca_file: Optional[str]
    cert_file: Optional[str]
    key_file: Optional[str]
    server_name: Optional[str]

    @staticmethod
    def make(address: Optional[str], token: Optional[str], token_file: Optional[str],
             ca_file: Optional[str], cert_file: Optional[str], key_file: Optional[str],
             server_name: Optional[str]) -> "Connection":
        if address is None:
            address = os.environ.get("GATHER_SERVER") or None
        if token is None and token_file is None:
            token_file = os.environ.get("GATHER_TOKEN_FILE") or None
            token = os.environ.get("GATHER_TOKEN") or None
        if token_file is not None:
            with open(token_file, "r") as f:
                token = f.readline().strip()
        if (cert_file is None) != (key_file is None):
            raise ValueError("cert_file and key_file go together (mTLS)")
        return Connection(address, token or None, ca_file, cert_file, key_file, server_name)

    def metadata(self) -> List[Tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    def tls(self) -> bool:
        return self.ca_file is not None or self.cert_file is not None

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: Optional[str]) -> Optional[bytes]:
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()
        return grpc.ssl_channel_credentials(read(self.ca_file), read(self.key_file),
                                            read(self.cert_file))

    def open_channel(self, address: str, api: Any) -> Any:
        """A channel to `address` with `api` (grpc, or grpc.aio): TLS when configured, except to a
        private gatherd (a local Unix socket)."""
        if self.tls() and self.address is not None:
            return api.secure_channel(address, self.credentials(), self.options())
        return api.insecure_channel(address, self.options())

    def options(self) -> List[Tuple[str, Any]]:
        options = list(CHANNEL_OPTIONS)
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return options


class PrivateServers:
    """The private gatherds a client started: one serves a call when it allows every host the call
    names; otherwise one is started for every host seen so far (earlier ones stay until close(),
    as calls may still use them). Thread-safe."""

    def __init__(self, gatherd: Optional[str]) -> None:
        self._gatherd = gatherd
        self._lock = threading.Lock()
        self._servers: List[PrivateServer] = []
        self._hosts: set = set()
        self._closed = False

    def address_for(self, hosts: Iterable[str]) -> str:
        hosts = {h for h in hosts if h}
        with self._lock:
            if self._closed:
                raise GatherError("the client is closed")
            for server in reversed(self._servers):
                if hosts <= server.hosts:
                    return server.address
            self._hosts |= hosts
            server = PrivateServer(self._hosts, self._gatherd)
            self._servers.append(server)
            return server.address

    def pids(self) -> List[int]:
        with self._lock:
            return [s.pid for s in self._servers if s.pid is not None]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            servers, self._servers = self._servers, []
        for server in servers:
            server.stop()


class LookupState:
    """One lookup's bookkeeping, shared by the request side (which records each key sent) and the
    response side (which turns results into Rows). The request side runs on gRPC's thread (sync
    client) or the event loop; dict operations are atomic, and a key is recorded before its
    message is handed to gRPC, so its result always finds it."""

    def __init__(self, spec: "pb.LookupSpec", keys: Iterable[Any], skip: Optional[Iterable[Any]],
                 skip_seqs: Optional[Iterable[int]]) -> None:
        self.spec = spec
        self.names: Sequence[str] = [f.name for f in spec.fields]
        self.paged = spec.HasField("paging")
        self.pending: Dict[int, Any] = {}
        self.counters = {"skipped": 0}
        self.input_error: Optional[BaseException] = None
        self._keys = keys
        self._skip = skip
        self._skip_seqs = skip_seqs
        self.summary: Optional[Summary] = None
        self.plain_column = req.plain_key_column(spec.url_template, spec.body)

    def requests(self):
        """The request messages: the spec, then the keys in batches (lazily). An exception from
        the caller's key iterable is kept (input_error) and ends the input."""
        yield pb.BatchLookupRequest(spec=self.spec)
        try:
            for batch in req.key_batches(self._keys, self._skip, self._skip_seqs, self.pending,
                                         self.counters, plain_column=self.plain_column):
                yield pb.BatchLookupRequest(keys=batch)
        except Exception as e:  # raised again to the caller by the response side
            self.input_error = e
            raise

    def rows(self, response: "pb.BatchLookupResponse") -> List[Row]:
        if response.HasField("summary"):
            self.summary = lookup_summary_from_pb(response.summary, self.counters["skipped"])
            return []
        out = []
        for r in response.results.results:
            key = self.pending.get(r.seq, r.key) if r.more else self.pending.pop(r.seq, r.key)
            out.append(row_from_pb(r, self.names, key))
        return out


class RankCollector:
    """Gathers a FetchAndRank stream's messages into a Ranking (both clients use it)."""

    def __init__(self, request: "pb.FetchAndRankRequest") -> None:
        self._names = [f.name for f in request.fields]
        self.ranking = Ranking(top=[], results=[])

    def add(self, response: "pb.FetchAndRankResponse") -> None:
        if response.HasField("summary"):
            self.ranking.top = ranked_from_pb(response.summary.ranking)
            self.ranking.summary = rank_summary_from_pb(response.summary)
        elif response.HasField("results"):
            self.ranking.results.extend(result_from_pb(r, self._names)
                                        for r in response.results.results)
        else:
            self.ranking.results.append(result_from_pb(response.result, self._names))


def lookup_hosts(spec: "pb.LookupSpec") -> List[str]:
    return [req.host_of(spec.url_template)]


def rank_hosts(request: "pb.FetchAndRankRequest") -> List[str]:
    if request.HasField("discovery"):
        return [req.host_of(request.discovery.index_url),
                req.host_of(request.discovery.url_template)]
    return [req.host_of(job.url) for job in request.jobs]
