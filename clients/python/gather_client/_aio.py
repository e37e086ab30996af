"""The asyncio client: AsyncClient and the AsyncLookup it returns (grpc.aio underneath).

Threading: everything runs on the event loop the client is used from. Keys may be an iterable
or an async iterable; they are read as gatherd asks for more.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Dict, Iterable, List, Mapping, Optional, Union

import asyncio

import grpc
import grpc.aio

from . import _requests as req
from ._calls import (SERVICE, Connection, LookupState, PrivateServers, RankCollector,
                     lookup_hosts, rank_hosts)
from ._errors import GatherError, error_for, from_rpc_error
from ._pb import gather_pb2 as pb
from ._rows import Ranking, Row, Summary, to_frame


async def _requests(state: LookupState, keys: Any) -> AsyncIterator["pb.BatchLookupRequest"]:
    yield pb.BatchLookupRequest(spec=state.spec)
    batcher = req.KeyBatcher(state._skip, state._skip_seqs, state.pending, state.counters,
                             plain_column=state.plain_column)
    try:
        seq = 0
        if hasattr(keys, "__aiter__"):
            async for key in keys:
                batch = batcher.add(seq, key)
                seq += 1
                if batch is not None:
                    yield pb.BatchLookupRequest(keys=batch)
        else:
            for key in keys:
                batch = batcher.add(seq, key)
                seq += 1
                if batch is not None:
                    yield pb.BatchLookupRequest(keys=batch)
        batch = batcher.flush()
        if batch is not None:
            yield pb.BatchLookupRequest(keys=batch)
    except Exception as e:  # raised again to the caller by the response side
        state.input_error = e
        raise


_REFUSAL_WAIT_S = 0.1  # as Client.lookup


class AsyncLookup:
    """The rows of one lookup as they arrive: `async for row in lookup`, or to_pandas() /
    batches(). `summary` is set once every row was read."""

    def __init__(self, open_call: Any, state: LookupState) -> None:
        self._open_call = open_call
        self._call: Any = None
        self._state = state
        self._started = False

    async def _open(self) -> "AsyncLookup":
        """Starts the call once; raises InvalidArgument (naming the field) when gatherd refuses
        the request."""
        if self._call is None:
            self._call = self._open_call()
            try:
                await self._call.initial_metadata()
            except grpc.RpcError as e:
                if self._state.input_error is not None:
                    raise self._state.input_error
                raise from_rpc_error(e) from None
            if not self._call.done():
                # A refusal is a trailers-only answer: its status follows the headers at once.
                status = asyncio.ensure_future(self._call.code())
                await asyncio.wait({status}, timeout=_REFUSAL_WAIT_S)
            if self._call.done():
                code = await self._call.code()
                if code != grpc.StatusCode.OK:
                    if self._state.input_error is not None:
                        raise self._state.input_error
                    raise error_for(code, await self._call.details() or "")
        return self

    def __await__(self):
        return self._open().__await__()

    @property
    def summary(self) -> Optional[Summary]:
        return self._state.summary

    def cancel(self) -> None:
        if self._call is not None:
            self._call.cancel()

    async def _rows(self) -> AsyncIterator[Row]:
        if self._started:
            raise RuntimeError("a Lookup can be read only once")
        self._started = True
        await self._open()
        try:
            async for response in self._call:
                for row in self._state.rows(response):
                    yield row
        except grpc.RpcError as e:
            if self._state.input_error is not None:
                raise self._state.input_error
            raise from_rpc_error(e) from None
        finally:
            self._call.cancel()
        if self._state.input_error is not None:
            raise self._state.input_error
        if self._state.summary is None:
            raise GatherError("the stream ended without a summary", grpc.StatusCode.INTERNAL)

    def __aiter__(self) -> AsyncIterator[Row]:
        return self._rows()

    async def batches(self, size: int, as_frame: bool = True) -> AsyncIterator[Any]:
        if size <= 0:
            raise ValueError("batches: size must be at least 1")
        group: List[Row] = []
        async for row in self:
            group.append(row)
            if len(group) >= size and not row.more:
                yield to_frame(group, self._state.names, self._state.paged) if as_frame else group
                group = []
        if group:
            yield to_frame(group, self._state.names, self._state.paged) if as_frame else group

    async def to_pandas(self) -> Any:
        return to_frame([row async for row in self], self._state.names, self._state.paged)

    async def to_list(self) -> List[Row]:
        return [row async for row in self]


class AsyncClient:
    """As Client, for asyncio: `async with AsyncClient(...) as g`. Same arguments."""

    def __init__(self, address: Optional[str] = None, *, token: Optional[str] = None,
                 token_file: Optional[str] = None, ca_file: Optional[str] = None,
                 cert_file: Optional[str] = None, key_file: Optional[str] = None,
                 server_name: Optional[str] = None, gatherd: Optional[str] = None) -> None:
        self._conn = Connection.make(address, token, token_file, ca_file, cert_file, key_file,
                                     server_name)
        self._private = PrivateServers(gatherd) if self._conn.address is None else None
        self._channels: Dict[str, grpc.aio.Channel] = {}

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
        if self._private is not None:
            self._private.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def private_pids(self) -> List[int]:
        return self._private.pids() if self._private is not None else []

    def _channel(self, hosts: List[str]) -> grpc.aio.Channel:
        address = (self._conn.address if self._private is None
                   else self._private.address_for(hosts))
        channel = self._channels.get(address)
        if channel is None:
            channel = self._conn.open_channel(address, grpc.aio)
            self._channels[address] = channel
        return channel

    def lookup(self, template: str, keys: Any, *, fields: req.Fields = None,
               require: Iterable[str] = (), method: Optional[str] = None,
               body: Any = None, headers: req.Headers = None,
               credential: Optional[str] = None,
               pages: Union[req.Pages, Mapping[str, Any], None] = None,
               skip: Optional[Iterable[Any]] = None,
               skip_seqs: Optional[Iterable[int]] = None,
               deadline: Optional[float] = None, **policy: Any) -> AsyncLookup:
        """As Client.lookup; keys may also be an async iterable. `async for row in
        g.lookup(...)` starts the call on the first row; `lookup = await g.lookup(...)` starts it
        at once (raising InvalidArgument there when gatherd refuses the request)."""
        spec = req.lookup_spec(template, fields_=fields, require=require, method=method,
                               body=body, headers_=headers, credential=credential, pages=pages,
                               policy_options=policy)
        state = LookupState(spec, (), skip, skip_seqs)
        metadata = self._conn.metadata()

        def open_call() -> Any:
            channel = self._channel(lookup_hosts(spec))
            stub = channel.stream_stream(
                SERVICE + "BatchLookup",
                request_serializer=pb.BatchLookupRequest.SerializeToString,
                response_deserializer=pb.BatchLookupResponse.FromString)
            return stub(_requests(state, keys), timeout=deadline, metadata=metadata)

        return AsyncLookup(open_call, state)

    async def _fetch_and_rank(self, request: "pb.FetchAndRankRequest",
                              deadline: Optional[float]) -> Ranking:
        channel = self._channel(rank_hosts(request))
        stub = channel.unary_stream(SERVICE + "FetchAndRank",
                                    request_serializer=pb.FetchAndRankRequest.SerializeToString,
                                    response_deserializer=pb.FetchAndRankResponse.FromString)
        collector = RankCollector(request)
        try:
            async for response in stub(request, timeout=deadline,
                                       metadata=self._conn.metadata()):
                collector.add(response)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        return collector.ranking

    async def fetch(self, urls: Union[Mapping[str, str], Iterable[str]], *,
                    fields: req.Fields = None, require: Iterable[str] = (),
                    method: Optional[str] = None, body: Any = None, headers: req.Headers = None,
                    credential: Optional[str] = None,
                    pages: Union[req.Pages, Mapping[str, Any], None] = None,
                    deadline: Optional[float] = None, **policy: Any) -> Dict[str, Any]:
        """As Client.fetch."""
        request = req.fetch_and_rank(urls, score=None, top=0, order="desc", fields_=fields,
                                     require=require, method=method, body=body, headers_=headers,
                                     credential=credential, pages=pages, policy_options=policy)
        ids = [job.id for job in request.jobs]
        if len(set(ids)) != len(ids):
            raise ValueError("fetch: ids must be unique (they key the result)")
        ranking = await self._fetch_and_rank(request, deadline)
        return req.results_by_id(ranking.results, ids, pages is not None)

    async def rank(self, jobs: Union[Mapping[str, str], Iterable[str], req.Index], *,
                   score: Union[str, Mapping[str, Any]], top: int = 20, order: str = "desc",
                   headers: req.Headers = None, credential: Optional[str] = None,
                   deadline: Optional[float] = None, **policy: Any) -> Ranking:
        """As Client.rank."""
        request = req.fetch_and_rank(jobs, score=score, top=top, order=order, fields_=None,
                                     require=(), method=None, body=None, headers_=headers,
                                     credential=credential, pages=None, policy_options=policy)
        return await self._fetch_and_rank(request, deadline)
