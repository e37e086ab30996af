"""gather_client: look up millions of keys, fetch named URLs and rank them through gatherd.

    from gather_client import Client
    with Client() as g:   # no address: a private gatherd for this client's calls
        for row in g.lookup("http://127.0.0.1:8080/v2/entities/{id}", keys=range(1000),
                            fields={"city": "/location/city"}, rate=100):
            print(row.seq, row.key, row.status, row.fields["city"])

See clients/python/README.md for the whole API, resume, errors and TLS.
"""
from ._aio import AsyncClient, AsyncLookup
from ._client import Client, Lookup
from ._errors import (Cancelled, DeadlineExceeded, GatherError, InvalidArgument,
                      PermissionDenied, ResourceExhausted, ServerNotFound, Unauthenticated,
                      Unavailable)
from ._requests import Index, Pages
from ._rows import Keyed, Ranked, Ranking, Result, Row, Summary, failed

__version__ = "0.1.0"

__all__ = [
    "AsyncClient", "AsyncLookup", "Cancelled", "Client", "DeadlineExceeded", "GatherError",
    "Index", "InvalidArgument", "Keyed", "Lookup", "failed", "Pages", "PermissionDenied", "Ranked", "Ranking",
    "ResourceExhausted", "Result", "Row", "ServerNotFound", "Summary", "Unauthenticated",
    "Unavailable",
]
