from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
JOB_STATUS_BAD_CONTENT: JobStatus
JOB_STATUS_BLOCKED: JobStatus
JOB_STATUS_CANCELLED: JobStatus
JOB_STATUS_CONNECT_ERROR: JobStatus
JOB_STATUS_DNS_ERROR: JobStatus
JOB_STATUS_HTTP_ERROR: JobStatus
JOB_STATUS_INVALID_KEY: JobStatus
JOB_STATUS_MISSING: JobStatus
JOB_STATUS_OK: JobStatus
JOB_STATUS_RATE_LIMITED: JobStatus
JOB_STATUS_REDIRECT_ERROR: JobStatus
JOB_STATUS_TIMEOUT: JobStatus
JOB_STATUS_TLS_ERROR: JobStatus
JOB_STATUS_TOO_LARGE: JobStatus
JOB_STATUS_UNSPECIFIED: JobStatus
ORDER_ASCENDING: Order
ORDER_DESCENDING: Order
REDUCER_COUNT: Reducer
REDUCER_LAST: Reducer
REDUCER_MAX: Reducer
REDUCER_MEAN: Reducer
REDUCER_MIN: Reducer
REDUCER_SUM: Reducer
REDUCER_UNSPECIFIED: Reducer

class BatchLookupRequest(_message.Message):
    __slots__ = ["keys", "spec"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    keys: KeyBatch
    spec: LookupSpec
    def __init__(self, spec: _Optional[_Union[LookupSpec, _Mapping]] = ..., keys: _Optional[_Union[KeyBatch, _Mapping]] = ...) -> None: ...

class BatchLookupResponse(_message.Message):
    __slots__ = ["results", "summary"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    results: LookupResultBatch
    summary: LookupSummary
    def __init__(self, results: _Optional[_Union[LookupResultBatch, _Mapping]] = ..., summary: _Optional[_Union[LookupSummary, _Mapping]] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ["name", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Discovery(_message.Message):
    __slots__ = ["index_url", "keys_pointer", "max_keys", "url_template"]
    INDEX_URL_FIELD_NUMBER: _ClassVar[int]
    KEYS_POINTER_FIELD_NUMBER: _ClassVar[int]
    MAX_KEYS_FIELD_NUMBER: _ClassVar[int]
    URL_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    index_url: str
    keys_pointer: str
    max_keys: int
    url_template: str
    def __init__(self, index_url: _Optional[str] = ..., keys_pointer: _Optional[str] = ..., url_template: _Optional[str] = ..., max_keys: _Optional[int] = ...) -> None: ...

class FetchAndRankRequest(_message.Message):
    __slots__ = ["batch_results", "body", "credential", "discovery", "fields", "headers", "jobs", "method", "order", "paging", "policy", "required", "score", "top_n"]
    BATCH_RESULTS_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    DISCOVERY_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    PAGING_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    batch_results: bool
    body: str
    credential: str
    discovery: Discovery
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    method: str
    order: Order
    paging: Paging
    policy: FetchPolicy
    required: _containers.RepeatedScalarFieldContainer[str]
    score: ScoreSpec
    top_n: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., discovery: _Optional[_Union[Discovery, _Mapping]] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ..., score: _Optional[_Union[ScoreSpec, _Mapping]] = ..., top_n: _Optional[int] = ..., order: _Optional[_Union[Order, str]] = ..., policy: _Optional[_Union[FetchPolicy, _Mapping]] = ..., credential: _Optional[str] = ..., batch_results: bool = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ..., required: _Optional[_Iterable[str]] = ..., method: _Optional[str] = ..., body: _Optional[str] = ..., paging: _Optional[_Union[Paging, _Mapping]] = ...) -> None: ...

class FetchAndRankResponse(_message.Message):
    __slots__ = ["result", "results", "summary"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    result: JobResult
    results: JobResultBatch
    summary: RankSummary
    def __init__(self, result: _Optional[_Union[JobResult, _Mapping]] = ..., summary: _Optional[_Union[RankSummary, _Mapping]] = ..., results: _Optional[_Union[JobResultBatch, _Mapping]] = ...) -> None: ...

class FetchPolicy(_message.Message):
    __slots__ = ["burst", "concurrency", "hedge_after_ms", "hedge_auto", "idempotent", "max_attempts", "max_body_bytes", "no_coalescing", "rate", "rate_auto", "redirect_keeps_headers", "timeout_seconds"]
    BURST_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    HEDGE_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    HEDGE_AUTO_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_BODY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NO_COALESCING_FIELD_NUMBER: _ClassVar[int]
    RATE_AUTO_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    REDIRECT_KEEPS_HEADERS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    burst: int
    concurrency: int
    hedge_after_ms: float
    hedge_auto: bool
    idempotent: bool
    max_attempts: int
    max_body_bytes: int
    no_coalescing: bool
    rate: float
    rate_auto: bool
    redirect_keeps_headers: bool
    timeout_seconds: float
    def __init__(self, timeout_seconds: _Optional[float] = ..., concurrency: _Optional[int] = ..., max_body_bytes: _Optional[int] = ..., rate: _Optional[float] = ..., burst: _Optional[int] = ..., max_attempts: _Optional[int] = ..., no_coalescing: bool = ..., rate_auto: bool = ..., hedge_after_ms: _Optional[float] = ..., hedge_auto: bool = ..., redirect_keeps_headers: bool = ..., idempotent: bool = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ["name", "pointer"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POINTER_FIELD_NUMBER: _ClassVar[int]
    name: str
    pointer: str
    def __init__(self, name: _Optional[str] = ..., pointer: _Optional[str] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ["name", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ["headers", "id", "url"]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    id: str
    url: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ["attempts", "bytes", "error", "http_status", "id", "item", "latency_ms", "more", "page", "pages_cut", "queue_ms", "score", "seq", "shared", "status", "url", "values"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    PAGES_CUT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    bytes: int
    error: str
    http_status: int
    id: str
    item: int
    latency_ms: float
    more: bool
    page: int
    pages_cut: bool
    queue_ms: float
    score: float
    seq: int
    shared: bool
    status: JobStatus
    url: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., http_status: _Optional[int] = ..., score: _Optional[float] = ..., error: _Optional[str] = ..., latency_ms: _Optional[float] = ..., queue_ms: _Optional[float] = ..., bytes: _Optional[int] = ..., attempts: _Optional[int] = ..., seq: _Optional[int] = ..., shared: bool = ..., values: _Optional[_Iterable[str]] = ..., page: _Optional[int] = ..., item: _Optional[int] = ..., more: bool = ..., pages_cut: bool = ...) -> None: ...

class JobResultBatch(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[JobResult]
    def __init__(self, results: _Optional[_Iterable[_Union[JobResult, _Mapping]]] = ...) -> None: ...

class Key(_message.Message):
    __slots__ = ["columns", "key", "seq"]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    key: str
    seq: int
    def __init__(self, seq: _Optional[int] = ..., key: _Optional[str] = ..., columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ...) -> None: ...

class KeyBatch(_message.Message):
    __slots__ = ["keys"]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[Key]
    def __init__(self, keys: _Optional[_Iterable[_Union[Key, _Mapping]]] = ...) -> None: ...

class LookupResult(_message.Message):
    __slots__ = ["attempts", "bytes", "error", "http_status", "item", "key", "latency_ms", "more", "page", "pages_cut", "queue_ms", "seq", "shared", "status", "values"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    PAGES_CUT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_MS_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    bytes: int
    error: str
    http_status: int
    item: int
    key: str
    latency_ms: float
    more: bool
    page: int
    pages_cut: bool
    queue_ms: float
    seq: int
    shared: bool
    status: JobStatus
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, seq: _Optional[int] = ..., key: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., http_status: _Optional[int] = ..., values: _Optional[_Iterable[str]] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., latency_ms: _Optional[float] = ..., queue_ms: _Optional[float] = ..., bytes: _Optional[int] = ..., shared: bool = ..., page: _Optional[int] = ..., item: _Optional[int] = ..., more: bool = ..., pages_cut: bool = ...) -> None: ...

class LookupResultBatch(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[LookupResult]
    def __init__(self, results: _Optional[_Iterable[_Union[LookupResult, _Mapping]]] = ...) -> None: ...

class LookupSpec(_message.Message):
    __slots__ = ["body", "credential", "fields", "headers", "method", "paging", "policy", "required", "url_template"]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PAGING_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    URL_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    body: str
    credential: str
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    method: str
    paging: Paging
    policy: FetchPolicy
    required: _containers.RepeatedScalarFieldContainer[str]
    url_template: str
    def __init__(self, url_template: _Optional[str] = ..., method: _Optional[str] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ..., required: _Optional[_Iterable[str]] = ..., policy: _Optional[_Union[FetchPolicy, _Mapping]] = ..., credential: _Optional[str] = ..., body: _Optional[str] = ..., paging: _Optional[_Union[Paging, _Mapping]] = ...) -> None: ...

class LookupSummary(_message.Message):
    __slots__ = ["bytes", "items_filtered", "keys", "keys_cut", "keys_waited", "pages", "quota_left", "rate", "retry_wait_ms", "rows", "status_counts", "wall_ms"]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FILTERED_FIELD_NUMBER: _ClassVar[int]
    KEYS_CUT_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    KEYS_WAITED_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    QUOTA_LEFT_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    RETRY_WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    STATUS_COUNTS_FIELD_NUMBER: _ClassVar[int]
    WALL_MS_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    items_filtered: int
    keys: int
    keys_cut: int
    keys_waited: int
    pages: int
    quota_left: int
    rate: float
    retry_wait_ms: float
    rows: int
    status_counts: _containers.RepeatedCompositeFieldContainer[StatusCount]
    wall_ms: float
    def __init__(self, keys: _Optional[int] = ..., status_counts: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., wall_ms: _Optional[float] = ..., bytes: _Optional[int] = ..., rate: _Optional[float] = ..., pages: _Optional[int] = ..., rows: _Optional[int] = ..., items_filtered: _Optional[int] = ..., keys_cut: _Optional[int] = ..., keys_waited: _Optional[int] = ..., retry_wait_ms: _Optional[float] = ..., quota_left: _Optional[int] = ...) -> None: ...

class Paging(_message.Message):
    __slots__ = ["items", "max_pages", "next_link", "next_token_pointer", "next_url_pointer", "token_param"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_PAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_LINK_FIELD_NUMBER: _ClassVar[int]
    NEXT_TOKEN_POINTER_FIELD_NUMBER: _ClassVar[int]
    NEXT_URL_POINTER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_PARAM_FIELD_NUMBER: _ClassVar[int]
    items: str
    max_pages: int
    next_link: bool
    next_token_pointer: str
    next_url_pointer: str
    token_param: str
    def __init__(self, next_url_pointer: _Optional[str] = ..., next_link: bool = ..., next_token_pointer: _Optional[str] = ..., token_param: _Optional[str] = ..., items: _Optional[str] = ..., max_pages: _Optional[int] = ...) -> None: ...

class RankSummary(_message.Message):
    __slots__ = ["bytes", "jobs", "jobs_waited", "ranking", "retry_wait_ms", "status_counts", "wall_ms"]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    JOBS_WAITED_FIELD_NUMBER: _ClassVar[int]
    RANKING_FIELD_NUMBER: _ClassVar[int]
    RETRY_WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_COUNTS_FIELD_NUMBER: _ClassVar[int]
    WALL_MS_FIELD_NUMBER: _ClassVar[int]
    bytes: int
    jobs: int
    jobs_waited: int
    ranking: _containers.RepeatedCompositeFieldContainer[RankedJob]
    retry_wait_ms: float
    status_counts: _containers.RepeatedCompositeFieldContainer[StatusCount]
    wall_ms: float
    def __init__(self, ranking: _Optional[_Iterable[_Union[RankedJob, _Mapping]]] = ..., jobs: _Optional[int] = ..., status_counts: _Optional[_Iterable[_Union[StatusCount, _Mapping]]] = ..., wall_ms: _Optional[float] = ..., bytes: _Optional[int] = ..., jobs_waited: _Optional[int] = ..., retry_wait_ms: _Optional[float] = ...) -> None: ...

class RankedJob(_message.Message):
    __slots__ = ["id", "rank", "score", "url"]
    ID_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    id: str
    rank: int
    score: float
    url: str
    def __init__(self, rank: _Optional[int] = ..., id: _Optional[str] = ..., url: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class ScoreSpec(_message.Message):
    __slots__ = ["across_reducer", "row_reducer", "skip_columns", "values_pointer"]
    ACROSS_REDUCER_FIELD_NUMBER: _ClassVar[int]
    ROW_REDUCER_FIELD_NUMBER: _ClassVar[int]
    SKIP_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    VALUES_POINTER_FIELD_NUMBER: _ClassVar[int]
    across_reducer: Reducer
    row_reducer: Reducer
    skip_columns: int
    values_pointer: str
    def __init__(self, values_pointer: _Optional[str] = ..., skip_columns: _Optional[int] = ..., row_reducer: _Optional[_Union[Reducer, str]] = ..., across_reducer: _Optional[_Union[Reducer, str]] = ...) -> None: ...

class StatusCount(_message.Message):
    __slots__ = ["count", "status"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    count: int
    status: JobStatus
    def __init__(self, status: _Optional[_Union[JobStatus, str]] = ..., count: _Optional[int] = ...) -> None: ...

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Reducer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Order(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
