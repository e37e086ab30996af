"""Request building: Python arguments to gather.v1 messages (pure functions, no I/O).

Mistakes a caller can make in Python (a field mapping that is not a mapping, a batch size of 0)
raise TypeError or ValueError here; what only gatherd can judge (a bad template, a bad pointer)
comes back from it as InvalidArgument naming the field.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

from ._pb import gather_pb2 as pb
from ._rows import Keyed

Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]
Fields = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]

# Keys per KeyBatch message: far fewer messages than one per key, small enough to stream.
KEYS_PER_MESSAGE = 1000


@dataclass(frozen=True)
class Pages:
    """How to follow a key's (or a job's) pages; see Paging in docs/API.md.

    At most one of next_url (a JSON pointer to the next page's URL), next_link (the Link
    header's rel="next") and next_token + token_param (a cursor sent back as a query parameter).
    items: a JSON pointer to the array whose elements become rows ("" for a page that is an
    array). max_pages: pages per key at most (0: gatherd's default, 100).
    """

    next_url: Optional[str] = None
    next_link: bool = False
    next_token: Optional[str] = None
    token_param: Optional[str] = None
    items: Optional[str] = None
    max_pages: int = 0


_POLICY_FIELDS = {
    "timeout": "timeout_seconds", "concurrency": "concurrency", "max_body_bytes": "max_body_bytes",
    "rate": "rate", "burst": "burst", "max_attempts": "max_attempts",
    "no_coalescing": "no_coalescing", "rate_auto": "rate_auto", "hedge_after_ms": "hedge_after_ms",
    "hedge_auto": "hedge_auto", "redirect_keeps_headers": "redirect_keeps_headers",
    "idempotent": "idempotent",
}
POLICY_ARGS = tuple(_POLICY_FIELDS)


def policy(options: Mapping[str, Any]) -> "pb.FetchPolicy":
    """A FetchPolicy from keyword arguments (timeout=, rate=, concurrency=, ...); None is unset."""
    p = pb.FetchPolicy()
    for name, value in options.items():
        if name not in _POLICY_FIELDS:
            raise TypeError(f"unknown policy argument {name!r}")
        if value is None:
            continue
        if name == "rate" and value == "auto":
            p.rate_auto = True
            continue
        setattr(p, _POLICY_FIELDS[name], value)
    return p


def _pairs(value: Union[Mapping[str, str], Sequence[Tuple[str, str]], None],
           what: str) -> List[Tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    out = []
    for item in value:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"{what}: expected a mapping or (name, value) pairs, got {item!r}")
        out.append((str(item[0]), str(item[1])))
    return out


def headers(value: Headers) -> List["pb.Header"]:
    return [pb.Header(name=n, value=v) for n, v in _pairs(value, "headers")]


def fields(value: Fields) -> List["pb.Field"]:
    return [pb.Field(name=n, pointer=p) for n, p in _pairs(value, "fields")]


def body_text(body: Any) -> str:
    """A body as sent: str as is, bytes decoded as UTF-8, anything else as JSON."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    if isinstance(body, bytes):
        return body.decode("utf-8")
    return json.dumps(body, separators=(",", ":"))


def paging(pages: Union[Pages, Mapping[str, Any], None]) -> Optional["pb.Paging"]:
    if pages is None:
        return None
    if isinstance(pages, Mapping):
        pages = Pages(**pages)
    p = pb.Paging(next_url_pointer=pages.next_url or "", next_link=pages.next_link,
                  next_token_pointer=pages.next_token or "", token_param=pages.token_param or "",
                  max_pages=pages.max_pages)
    if pages.items is not None:
        p.items = pages.items
    return p


def lookup_spec(template: str, *, fields_: Fields, require: Iterable[str], method: Optional[str],
                body: Any, headers_: Headers, credential: Optional[str],
                pages: Union[Pages, Mapping[str, Any], None],
                policy_options: Mapping[str, Any]) -> "pb.LookupSpec":
    spec = pb.LookupSpec(url_template=template, method=method or "",
                         headers=headers(headers_), fields=fields(fields_),
                         required=list(require), policy=policy(policy_options),
                         credential=credential or "", body=body_text(body))
    p = paging(pages)
    if p is not None:
        spec.paging.CopyFrom(p)
    return spec


def column_text(value: Any) -> str:
    """A parameter's value as text: str as is, bool as true/false, None as "", numbers and
    anything else as JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def plain_key_column(template: str, body: str) -> Optional[str]:
    """The column a plain key fills: the one placeholder name of the template and body when
    there is exactly one and it is not "key" ("{id}" takes a plain id), else None ({key})."""
    names = set(_PLACEHOLDER.findall(template)) | set(_PLACEHOLDER.findall(body))
    if len(names) == 1:
        (name,) = names
        if name != "key":
            return name
    return None


def key_message(seq: int, key: Any, plain_column: Optional[str] = None) -> Tuple["pb.Key", str]:
    """The Key message for one input item, and its text (what skip= and the server echo).

    A str or int is a plain key: it fills {key}, or the template's one placeholder when
    `plain_column` names it. A mapping is a row of parameters ({NAME} for each column),
    labelled by its compact JSON (as the CLI labels CSV and JSONL rows).
    """
    if isinstance(key, Mapping):
        columns = [(str(k), column_text(v)) for k, v in key.items()]
        label = json.dumps(dict(columns), separators=(",", ":"), ensure_ascii=False)
        return pb.Key(seq=seq, key=label,
                      columns=[pb.Column(name=n, value=v) for n, v in columns]), label
    if isinstance(key, bytes):
        key = key.decode("utf-8")
    text = key if isinstance(key, str) else column_text(key)
    if plain_column is not None:
        return pb.Key(seq=seq, key=text, columns=[pb.Column(name=plain_column, value=text)]), text
    return pb.Key(seq=seq, key=text), text


class KeyBatcher:
    """Groups keys into KeyBatch messages, leaving out the skipped ones.

    Seqs are input positions (from 0), skipped keys included, so a resumed run numbers keys as
    the first run did. Every key sent is put in `pending` (seq -> the key as given) until its
    last row arrives; counters["skipped"] counts the keys left out.
    """

    def __init__(self, skip_keys: Optional[Iterable[Any]], skip_seqs: Optional[Iterable[int]],
                 pending: Dict[int, Any], counters: Dict[str, int],
                 per_message: int = KEYS_PER_MESSAGE, plain_column: Optional[str] = None) -> None:
        self._plain_column = plain_column
        self._skip_text = None if skip_keys is None else {
            (k if isinstance(k, str) else key_message(0, k)[1]) for k in skip_keys}
        self._skip_seq = None if skip_seqs is None else set(skip_seqs)
        self._pending = pending
        self._counters = counters
        self._per_message = per_message
        self._batch = pb.KeyBatch()

    def add(self, seq: int, key: Any) -> Optional["pb.KeyBatch"]:
        """Adds one key (a Keyed brings its own seq); returns a full batch to send, or None."""
        if isinstance(key, Keyed):
            seq, key = key.seq, key.key
        if self._skip_seq is not None and seq in self._skip_seq:
            self._counters["skipped"] += 1
            return None
        message, text = key_message(seq, key, self._plain_column)
        if self._skip_text is not None and text in self._skip_text:
            self._counters["skipped"] += 1
            return None
        self._pending[seq] = key
        self._batch.keys.append(message)
        if len(self._batch.keys) < self._per_message:
            return None
        return self.flush()

    def flush(self) -> Optional["pb.KeyBatch"]:
        """The keys added since the last batch, or None."""
        if not self._batch.keys:
            return None
        batch, self._batch = self._batch, pb.KeyBatch()
        return batch


def key_batches(keys: Iterable[Any], skip_keys: Optional[Iterable[Any]],
                skip_seqs: Optional[Iterable[int]], pending: Dict[int, Any],
                counters: Dict[str, int], per_message: int = KEYS_PER_MESSAGE,
                plain_column: Optional[str] = None) -> Iterator["pb.KeyBatch"]:
    """Streams `keys` as KeyBatch messages, lazily: one input item is read per key sent."""
    batcher = KeyBatcher(skip_keys, skip_seqs, pending, counters, per_message, plain_column)
    for seq, key in enumerate(keys):
        batch = batcher.add(seq, key)
        if batch is not None:
            yield batch
    batch = batcher.flush()
    if batch is not None:
        yield batch


def jobs(urls: Union[Mapping[str, str], Iterable[str]]) -> List["pb.Job"]:
    """Jobs from {id: url} or a list of URLs (the id is then the URL)."""
    if isinstance(urls, str):
        raise TypeError("urls: expected a mapping of id to URL or a list of URLs, got a str")
    if isinstance(urls, Mapping):
        return [pb.Job(id=str(i), url=str(u)) for i, u in urls.items()]
    return [pb.Job(id=str(u), url=str(u)) for u in urls]


def host_of(url: str) -> str:
    """The host a URL or URL template names ("" when there is none)."""
    try:
        return urllib.parse.urlsplit(url.replace("{", "%7B").replace("}", "%7D")).hostname or ""
    except ValueError:
        return ""


_REDUCERS = {name[len("REDUCER_"):].lower(): value
             for name, value in pb.Reducer.items() if name != "REDUCER_UNSPECIFIED"}


def reducer(name: str, what: str) -> int:
    value = _REDUCERS.get(name.lower())
    if value is None:
        raise ValueError(f"{what}: {name!r} is not one of {', '.join(sorted(_REDUCERS))}")
    return value


def score_spec(score: Union[str, Mapping[str, Any]]) -> "pb.ScoreSpec":
    """A ScoreSpec from a values pointer, or a mapping with values, skip_columns, row, across
    (netdata's mean of row means: {"values": "/data", "skip_columns": 1, "row": "mean",
    "across": "mean"}; a bare pointer means row and across "mean", skip_columns 0)."""
    if isinstance(score, str):
        score = {"values": score}
    unknown = set(score) - {"values", "skip_columns", "row", "across"}
    if unknown:
        raise TypeError(f"score: unknown keys {sorted(unknown)}")
    return pb.ScoreSpec(values_pointer=score.get("values", ""),
                        skip_columns=int(score.get("skip_columns", 0)),
                        row_reducer=reducer(score.get("row", "mean"), "score.row"),
                        across_reducer=reducer(score.get("across", "mean"), "score.across"))


@dataclass(frozen=True)
class Index:
    """Jobs discovered from an index document (netdata's chart list): every key at `keys` (a JSON
    pointer to an object, whose member names are the keys, or an array) becomes the URL
    `template` with "{key}" replaced; the job's id is the key. max_keys: at most this many."""

    url: str
    keys: str
    template: str
    max_keys: int = 0


_ORDERS = {"desc": pb.ORDER_DESCENDING, "descending": pb.ORDER_DESCENDING,
           "asc": pb.ORDER_ASCENDING, "ascending": pb.ORDER_ASCENDING}


def fetch_and_rank(jobs_or_index: Union[Mapping[str, str], Iterable[str], Index], *,
                   score: Union[str, Mapping[str, Any], None], top: int, order: str,
                   fields_: Fields, require: Iterable[str], method: Optional[str], body: Any,
                   headers_: Headers, credential: Optional[str],
                   pages: Union[Pages, Mapping[str, Any], None],
                   policy_options: Mapping[str, Any]) -> "pb.FetchAndRankRequest":
    if order not in _ORDERS:
        raise ValueError(f"order: {order!r} is not one of desc, asc")
    request = pb.FetchAndRankRequest(headers=headers(headers_), top_n=top, order=_ORDERS[order],
                                     policy=policy(policy_options), credential=credential or "",
                                     batch_results=True, fields=fields(fields_),
                                     required=list(require), method=method or "",
                                     body=body_text(body))
    if isinstance(jobs_or_index, Index):
        request.discovery.CopyFrom(pb.Discovery(index_url=jobs_or_index.url,
                                                keys_pointer=jobs_or_index.keys,
                                                url_template=jobs_or_index.template,
                                                max_keys=jobs_or_index.max_keys))
    else:
        request.jobs.extend(jobs(jobs_or_index))
    if score is not None:
        request.score.CopyFrom(score_spec(score))
    p = paging(pages)
    if p is not None:
        request.paging.CopyFrom(p)
    return request


def results_by_id(results: Iterable[Any], ids: Sequence[str], paged: bool) -> Dict[str, Any]:
    """fetch()'s answer: {id: Result} in the request's order, or {id: [Result, ...]} with pages
    (a job's rows by page and item)."""
    out: Dict[str, Any] = {}
    for result in sorted(results,
                         key=lambda r: (r.seq, r.page, -1 if r.item is None else r.item)):
        if paged:
            out.setdefault(result.id, []).append(result)
        else:
            out[result.id] = result
    return {i: out[i] for i in ids if i in out}
