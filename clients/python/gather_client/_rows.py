"""What calls return: one Row per key row (lookup), one Result per job (fetch, rank), summaries.

Field values arrive from gatherd as JSON text and are decoded here: numbers become int or float
(integers of any size stay exact), strings str, objects dict, arrays list, JSON null None. A field
that is absent (or a row that did not end OK) has the value None.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from ._pb import gather_pb2 as pb

_PREFIX = "JOB_STATUS_"


def status_name(status: int) -> str:
    """"OK", "HTTP_ERROR", ...: the JobStatus name without its prefix (as the CLI prints it)."""
    return pb.JobStatus.Name(status)[len(_PREFIX):]


def decode_value(text: str) -> Any:
    """One field value: JSON text to a Python value; "" (absent) to None."""
    if text == "":
        return None
    return json.loads(text)


def decode_fields(names: Sequence[str], values: Sequence[str]) -> Dict[str, Any]:
    """The row's fields by name. A row that did not end OK has every field None."""
    out: Dict[str, Any] = {name: None for name in names}
    for name, text in zip(names, values):
        out[name] = decode_value(text)
    return out


@dataclass(frozen=True)
class Row:
    """One row of a lookup: a key's result (with pages, one of its rows)."""

    seq: int  # the key's position in the input, from 0 (skipped keys count)
    key: Any  # the key as given (a str, an int, or a dict of parameters)
    status: str  # "OK", "MISSING", "HTTP_ERROR", ... (see docs/API.md)
    fields: Dict[str, Any]
    http_status: int = 0
    error: str = ""
    attempts: int = 0
    latency_ms: float = 0.0
    queue_ms: float = 0.0
    bytes: int = 0
    shared: bool = False
    page: int = 0
    item: Optional[int] = None
    more: bool = False
    pages_cut: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "OK"


@dataclass(frozen=True)
class Result:
    """One job's result of fetch or rank (with pages, one of its rows)."""

    id: str
    url: str
    seq: int
    status: str
    fields: Dict[str, Any]
    score: Optional[float] = None
    http_status: int = 0
    error: str = ""
    attempts: int = 0
    latency_ms: float = 0.0
    queue_ms: float = 0.0
    bytes: int = 0
    shared: bool = False
    page: int = 0
    item: Optional[int] = None
    more: bool = False
    pages_cut: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "OK"


@dataclass(frozen=True)
class Summary:
    """The end of a call: keys (or jobs) per status and totals."""

    keys: int
    status_counts: Dict[str, int]
    wall_ms: float
    bytes: int
    rate: float = 0.0
    pages: int = 0
    rows: int = 0
    items_filtered: int = 0
    keys_cut: int = 0
    skipped: int = 0  # keys the client did not send (skip=)
    # Keys (jobs) whose retries waited for the host's retry budget, and the total wait.
    keys_waited: int = 0
    retry_wait_ms: float = 0.0

    def failed(self) -> Dict[str, int]:
        """Keys per failure status (not OK, MISSING or CANCELLED): what a second pass would
        fetch again."""
        return {s: n for s, n in self.status_counts.items() if s in FAILED}


FAILED = frozenset({"HTTP_ERROR", "RATE_LIMITED", "TIMEOUT", "CONNECT_ERROR", "DNS_ERROR",
                    "TLS_ERROR", "TOO_LARGE", "BAD_CONTENT", "REDIRECT_ERROR", "BLOCKED",
                    "INVALID_KEY"})


@dataclass(frozen=True)
class Keyed:
    """A key with its own seq: lookup() sends it under that seq instead of its input position
    (a second pass keeps the first pass's numbering)."""

    seq: int
    key: Any


def failed(rows: Iterable[Row], statuses: Optional[Iterable[str]] = None) -> List[Keyed]:
    """The keys of `rows` whose last row has one of `statuses` (default: every failure, i.e. all
    but OK and MISSING), with their seqs: pass them as lookup()'s keys to fetch exactly them
    again (the second pass of a batch, as `gather lookup --resume --redo` does)."""
    wanted = FAILED if statuses is None else frozenset(s.upper() for s in statuses)
    unknown = wanted - FAILED - {"MISSING"}
    if unknown:
        raise ValueError(f"statuses: {sorted(unknown)} are not failure statuses")
    return [Keyed(r.seq, r.key) for r in rows if not r.more and r.status in wanted]


@dataclass(frozen=True)
class Ranked:
    rank: int
    id: str
    url: str
    score: float


@dataclass
class Ranking:
    """What rank() returns: the top jobs in order, every job's result, and the summary."""

    top: List[Ranked]
    results: List[Result]
    summary: Summary = field(default_factory=lambda: Summary(0, {}, 0.0, 0))


def row_from_pb(r: "pb.LookupResult", names: Sequence[str], key: Any) -> Row:
    return Row(seq=r.seq, key=key, status=status_name(r.status),
               fields=decode_fields(names, r.values), http_status=r.http_status, error=r.error,
               attempts=r.attempts, latency_ms=r.latency_ms, queue_ms=r.queue_ms, bytes=r.bytes,
               shared=r.shared, page=r.page, item=r.item if r.HasField("item") else None,
               more=r.more, pages_cut=r.pages_cut)


def result_from_pb(r: "pb.JobResult", names: Sequence[str]) -> Result:
    return Result(id=r.id, url=r.url, seq=r.seq, status=status_name(r.status),
                  fields=decode_fields(names, r.values),
                  score=r.score if r.HasField("score") else None, http_status=r.http_status,
                  error=r.error, attempts=r.attempts, latency_ms=r.latency_ms,
                  queue_ms=r.queue_ms, bytes=r.bytes, shared=r.shared, page=r.page,
                  item=r.item if r.HasField("item") else None, more=r.more,
                  pages_cut=r.pages_cut)


def _counts(status_counts: Any) -> Dict[str, int]:
    return {status_name(c.status): c.count for c in status_counts}


def lookup_summary_from_pb(s: "pb.LookupSummary", skipped: int) -> Summary:
    return Summary(keys=s.keys, status_counts=_counts(s.status_counts), wall_ms=s.wall_ms,
                   bytes=s.bytes, rate=s.rate, pages=s.pages, rows=s.rows,
                   items_filtered=s.items_filtered, keys_cut=s.keys_cut, skipped=skipped,
                   keys_waited=s.keys_waited, retry_wait_ms=s.retry_wait_ms)


def rank_summary_from_pb(s: "pb.RankSummary") -> Summary:
    return Summary(keys=s.jobs, status_counts=_counts(s.status_counts), wall_ms=s.wall_ms,
                   bytes=s.bytes, keys_waited=s.jobs_waited, retry_wait_ms=s.retry_wait_ms)


def ranked_from_pb(ranking: Any) -> List[Ranked]:
    return [Ranked(rank=r.rank, id=r.id, url=r.url, score=r.score) for r in ranking]


_META = ("seq", "key", "status", "http_status", "error", "attempts", "latency_ms")


def frame_columns(names: Sequence[str], paged: bool) -> List[str]:
    """DataFrame columns: the row's metadata, then its fields (a field named like a metadata
    column keeps its name; the metadata column is then called gather_NAME)."""
    meta = list(_META[:3]) + (["page", "item"] if paged else []) + list(_META[3:])
    return [f"gather_{m}" if m in names else m for m in meta] + list(names)


def frame_record(row: Row, names: Sequence[str], paged: bool) -> List[Any]:
    meta: List[Any] = [row.seq, row.key, row.status]
    if paged:
        meta += [row.page, row.item]
    meta += [row.http_status, row.error, row.attempts, row.latency_ms]
    return meta + [row.fields.get(n) for n in names]


def _column(pandas: Any, values: List[Any]) -> Any:
    """A field column: integers with gaps (absent values) stay integers (pandas' nullable Int64),
    integers beyond 64 bits stay exact Python ints (object); everything else as pandas infers."""
    present = [v for v in values if v is not None]
    if present and all(type(v) is int for v in present):
        if all(-2**63 <= v < 2**63 for v in present):
            return pandas.array(values, dtype="Int64")
        return pandas.array(values, dtype=object)
    return values


def to_frame(rows: Sequence[Row], names: Sequence[str], paged: bool) -> Any:
    """A pandas DataFrame of rows (ImportError naming pandas when it is not installed)."""
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_pandas() and batches() need pandas (Debian: apt install "
                          "python3-pandas; or pip install pandas)") from e
    columns = frame_columns(names, paged)
    records = [frame_record(r, names, paged) for r in rows]
    data = {}
    for i, column in enumerate(columns):
        values = [record[i] for record in records]
        data[column] = _column(pandas, values) if i >= len(columns) - len(names) else values
    if paged:  # the item column, by the name frame_columns gave it
        data[columns[4]] = pandas.array([r.item for r in rows], dtype="Int64")
    return pandas.DataFrame(data, columns=columns)


def field_names(fields: Mapping[str, str]) -> List[str]:
    return list(fields.keys())
