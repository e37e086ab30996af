"""The blocking client: Client and the Lookup it returns.

Threading: a Client may be shared by threads (each call has its own stream). A Lookup is read by
one thread; gRPC's own thread pulls keys from the caller's iterable as the server asks for them.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

import grpc

from . import _requests as req
from ._calls import (SERVICE, Connection, LookupState, PrivateServers, RankCollector,
                     lookup_hosts, rank_hosts)
from ._errors import GatherError, from_rpc_error
from ._pb import gather_pb2 as pb
from ._rows import Ranking, Row, Summary, to_frame


# How long lookup() waits, once gatherd's headers came, for a refusal's status to follow them.
_REFUSAL_WAIT_S = 0.1


class Lookup:
    """The rows of one lookup, in completion order, as they arrive. Iterate once; or take them
    all with to_pandas(), or in groups with batches(). `summary` is set once every row was read.
    """

    def __init__(self, call: Any, state: LookupState) -> None:
        self._call = call
        self._state = state
        self._started = False

    @property
    def summary(self) -> Optional[Summary]:
        return self._state.summary

    @property
    def fields(self) -> List[str]:
        return list(self._state.names)

    def cancel(self) -> None:
        """Stops the lookup: keys not yet answered get no row."""
        self._call.cancel()

    def __iter__(self) -> Iterator[Row]:
        if self._started:
            raise RuntimeError("a Lookup can be read only once")
        self._started = True
        try:
            for response in self._call:
                yield from self._state.rows(response)
        except grpc.RpcError as e:
            if self._state.input_error is not None:
                raise self._state.input_error
            raise from_rpc_error(e) from None
        finally:
            self._call.cancel()  # a no-op once the call ended; stops it when the reader left
        if self._state.input_error is not None:
            raise self._state.input_error
        if self._state.summary is None:
            raise GatherError("the stream ended without a summary", grpc.StatusCode.INTERNAL)

    def batches(self, size: int, as_frame: bool = True) -> Iterator[Any]:
        """Rows in groups of `size` (the last may be smaller): pandas DataFrames, or lists of Row
        with as_frame=False. A paged key's rows are never split across two groups."""
        if size <= 0:
            raise ValueError("batches: size must be at least 1")
        group: List[Row] = []
        for row in self:
            group.append(row)
            if len(group) >= size and not row.more:
                yield to_frame(group, self._state.names, self._state.paged) if as_frame else group
                group = []
        if group:
            yield to_frame(group, self._state.names, self._state.paged) if as_frame else group

    def to_pandas(self) -> Any:
        """Every row in one DataFrame: seq, key, status, (page, item,) http_status, error,
        attempts, latency_ms, then one column per field."""
        return to_frame(list(self), self._state.names, self._state.paged)

    def to_list(self) -> List[Row]:
        return list(self)


class Client:
    """A connection to gatherd.

    address: "host:port" or "unix:PATH"; None uses $GATHER_SERVER, and without it starts a private
    gatherd for the client's calls (found as $GATHERD, beside `gather` on PATH, or on PATH), which
    may reach the hosts the calls name and stops when the client closes.
    token / token_file: a bearer token (default $GATHER_TOKEN, $GATHER_TOKEN_FILE).
    ca_file: TLS with this CA; cert_file + key_file: mTLS; server_name: the name to verify.
    """

    def __init__(self, address: Optional[str] = None, *, token: Optional[str] = None,
                 token_file: Optional[str] = None, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 server_name: Optional[str] = None, gatherd: Optional[str] = None) -> None:
        self._conn = Connection.make(address, token, token_file, ca_file, cert_file, key_file,
                                     server_name)
        self._private = PrivateServers(gatherd) if self._conn.address is None else None
        self._channels: Dict[str, grpc.Channel] = {}
        self._channels_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, Client._release, self._channels, self._private)

    @staticmethod
    def _release(channels: Dict[str, grpc.Channel], private: Optional[PrivateServers]) -> None:
        for channel in list(channels.values()):
            channel.close()
        channels.clear()
        if private is not None:
            private.close()

    def close(self) -> None:
        """Closes the channels and stops the private gatherds (idempotent)."""
        self._finalizer()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def private_pids(self) -> List[int]:
        """Process ids of the private gatherds running for this client."""
        return self._private.pids() if self._private is not None else []

    def _channel(self, hosts: List[str]) -> grpc.Channel:
        address = (self._conn.address if self._private is None
                   else self._private.address_for(hosts))
        with self._channels_lock:  # calls from several threads share one channel per address
            channel = self._channels.get(address)
            if channel is None:
                channel = self._conn.open_channel(address, grpc)
                self._channels[address] = channel
            return channel

    def lookup(self, template: str, keys: Iterable[Any], *,
               fields: req.Fields = None, require: Iterable[str] = (),
               method: Optional[str] = None, body: Any = None, headers: req.Headers = None,
               credential: Optional[str] = None,
               pages: Union[req.Pages, Mapping[str, Any], None] = None,
               skip: Optional[Iterable[Any]] = None, skip_seqs: Optional[Iterable[int]] = None,
               deadline: Optional[float] = None, **policy: Any) -> Lookup:
        """Looks up every key against `template` (BatchLookup) and returns its rows as a Lookup.

        keys: any iterable, read lazily as gatherd asks for more (a generator of millions of ids
        never sits in memory): str or int keys fill "{key}"; dicts are rows of parameters whose
        columns fill "{NAME}". fields: {name: JSON pointer}. require: pointers a 2xx answer must
        have, else the row is MISSING. pages: a Pages (or dict) to follow each key's pages.
        skip / skip_seqs: keys (as given, or their text) / input positions already done: they
        are not sent, and seqs stay the input positions (resume). deadline: seconds for the
        whole call. policy: timeout, rate ("auto" to find it), burst, concurrency, max_attempts,
        max_body_bytes, hedge_after_ms, hedge_auto, no_coalescing, idempotent,
        redirect_keeps_headers (docs/API.md, FetchPolicy).

        Raises InvalidArgument (naming the field) at once when gatherd refuses the request, and
        GatherError subclasses from the iteration when the call fails later.
        """
        spec = req.lookup_spec(template, fields_=fields, require=require, method=method,
                               body=body, headers_=headers, credential=credential, pages=pages,
                               policy_options=policy)
        state = LookupState(spec, keys, skip, skip_seqs)
        channel = self._channel(lookup_hosts(spec))
        stub = channel.stream_stream(SERVICE + "BatchLookup",
                                     request_serializer=pb.BatchLookupRequest.SerializeToString,
                                     response_deserializer=pb.BatchLookupResponse.FromString)
        call = stub(state.requests(), timeout=deadline, metadata=self._conn.metadata())
        # gatherd answers with its headers once it accepted the spec, or ends the call when it
        # refused it: either way the caller learns of a bad request here, not rows later.
        call.initial_metadata()
        # A refusal is a trailers-only answer: its status follows the (empty) headers at once.
        ended = threading.Event()
        call.add_done_callback(lambda _: ended.set())
        ended.wait(_REFUSAL_WAIT_S)
        if call.done() and call.code() != grpc.StatusCode.OK:
            if state.input_error is not None:
                raise state.input_error
            raise from_rpc_error(call)
        return Lookup(call, state)

    def _fetch_and_rank(self, request: "pb.FetchAndRankRequest",
                        deadline: Optional[float]) -> Ranking:
        channel = self._channel(rank_hosts(request))
        stub = channel.unary_stream(SERVICE + "FetchAndRank",
                                    request_serializer=pb.FetchAndRankRequest.SerializeToString,
                                    response_deserializer=pb.FetchAndRankResponse.FromString)
        collector = RankCollector(request)
        try:
            for response in stub(request, timeout=deadline, metadata=self._conn.metadata()):
                collector.add(response)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        return collector.ranking

    def fetch(self, urls: Union[Mapping[str, str], Iterable[str]], *, fields: req.Fields = None,
              require: Iterable[str] = (), method: Optional[str] = None, body: Any = None,
              headers: req.Headers = None, credential: Optional[str] = None,
              pages: Union[req.Pages, Mapping[str, Any], None] = None,
              deadline: Optional[float] = None, **policy: Any) -> Dict[str, Any]:
        """Fetches named URLs ({id: url}, or a list whose ids are the URLs) and extracts `fields`
        from each: {id: Result}, every id present (failures have status != "OK" and error set).
        With pages, {id: [Result, ...]} (a job's rows in order)."""
        request = req.fetch_and_rank(urls, score=None, top=0, order="desc", fields_=fields,
                                     require=require, method=method, body=body, headers_=headers,
                                     credential=credential, pages=pages, policy_options=policy)
        ids = [job.id for job in request.jobs]
        if len(set(ids)) != len(ids):
            raise ValueError("fetch: ids must be unique (they key the result)")
        ranking = self._fetch_and_rank(request, deadline)
        return req.results_by_id(ranking.results, ids, pages is not None)

    def rank(self, jobs: Union[Mapping[str, str], Iterable[str], req.Index], *,
             score: Union[str, Mapping[str, Any]], top: int = 20, order: str = "desc",
             headers: req.Headers = None, credential: Optional[str] = None,
             deadline: Optional[float] = None, **policy: Any) -> Ranking:
        """Fetches every job ({id: url}, a list of URLs, or an Index to discover them), scores
        each body (score: a JSON pointer to the numbers, or {"values", "skip_columns", "row",
        "across"}), and returns the `top` best (0: all) with every job's Result."""
        request = req.fetch_and_rank(jobs, score=score, top=top, order=order, fields_=None,
                                     require=(), method=None, body=None, headers_=headers,
                                     credential=credential, pages=None, policy_options=policy)
        return self._fetch_and_rank(request, deadline)
