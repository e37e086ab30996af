"""The client against a real gatherd and a local upstream."""
from __future__ import annotations

import asyncio
import itertools

import pytest

from gather_client import (AsyncClient, Client, GatherError, Index, InvalidArgument, Pages,
                           failed,
                           Unavailable)
from upstream import BIG


def entity_fields():
    return {"label": "/label", "city": "/location/city", "population": "/location/population",
            "ratio": "/location/ratio", "tags": "/location/tags", "big": "/big",
            "location": "/location"}


def test_lookup_streams_every_key_once_with_decoded_fields(gatherd_bin, upstream):
    with Client() as g:
        rows = list(g.lookup(upstream.base + "/entities/{key}", keys=range(2000),
                             fields=entity_fields(), concurrency=64))
        assert g.private_pids(), "a private gatherd serves a client given no address"
    assert sorted(r.seq for r in rows) == list(range(2000))
    assert sorted(r.key for r in rows) == list(range(2000))  # the keys as given (ints)
    by_key = {r.key: r for r in rows}
    r = by_key[15]
    assert r.status == "OK" and r.ok and r.http_status == 200 and r.attempts == 1
    assert r.fields["label"] == "E15"
    assert r.fields["population"] == 15000 and isinstance(r.fields["population"], int)
    assert r.fields["ratio"] == 3.75 and isinstance(r.fields["ratio"], float)
    assert r.fields["tags"] == ["x", 15]
    assert r.fields["big"] == BIG  # above 2^64, exact
    assert r.fields["location"] == {"city": "C5", "population": 15000, "ratio": 3.75,
                                    "tags": ["x", 15]}
    assert by_key[14].fields["city"] is None  # absent
    assert all(r.ok for r in rows)


def test_require_marks_rows_missing_and_to_pandas_has_one_row_per_key(gatherd_bin, upstream):
    with Client() as g:
        lookup = g.lookup(upstream.base + "/entities/{id}", keys=(i for i in range(500)),
                          fields={"label": "/label", "city": "/location/city",
                                  "population": "/location/population"},
                          require=["/location"], rate=2000)
        df = lookup.to_pandas()
    assert len(df) == 500 and sorted(df["seq"]) == list(range(500))
    assert list(df.columns[:3]) == ["seq", "key", "status"]
    assert (df["status"] == "MISSING").sum() == len([i for i in range(500) if i % 7 == 0])
    ok = df[df["status"] == "OK"]
    assert str(df["population"].dtype) == "Int64" and df["population"].isna().sum() == 72
    assert ok["population"].map(int).eq(ok["seq"] * 1000).all()
    assert set(ok["city"]) == {f"C{i}" for i in range(10)}
    assert lookup.summary.keys == 500
    assert lookup.summary.status_counts == {"OK": 428, "MISSING": 72}


def test_batches_group_rows(gatherd_bin, upstream):
    with Client() as g:
        sizes = [len(b) for b in g.lookup(upstream.base + "/entities/{key}", keys=range(2500),
                                          fields={"label": "/label"}).batches(1000)]
        lists = list(g.lookup(upstream.base + "/entities/{key}", keys=range(30),
                              fields={"label": "/label"}).batches(7, as_frame=False))
    assert sizes == [1000, 1000, 500]
    assert [len(b) for b in lists] == [7, 7, 7, 7, 2]


def test_fetch_returns_a_dict_by_name_with_the_failure_in_it(gatherd_bin, upstream):
    with Client() as g:
        results = g.fetch({"daily": upstream.base + "/entities/3",
                           "hourly": upstream.base + "/fail"},
                          fields={"label": "/label"}, max_attempts=1)
    assert list(results) == ["daily", "hourly"]
    assert results["daily"].ok and results["daily"].fields == {"label": "E3"}
    assert results["hourly"].status == "HTTP_ERROR"
    assert results["hourly"].http_status == 500
    assert results["hourly"].fields == {"label": None}


def test_async_lookup_and_fetch(gatherd_bin, upstream):
    async def keys():
        for i in range(300):
            yield str(i)

    async def run():
        async with AsyncClient() as g:
            rows = [r async for r in g.lookup(upstream.base + "/entities/{key}", keys=keys(),
                                              fields={"label": "/label"})]
            lookup = await g.lookup(upstream.base + "/entities/{key}", keys=["1", "2"],
                                    fields={"label": "/label"})
            df = await lookup.to_pandas()
            fetched = await g.fetch([upstream.base + "/entities/8"], fields={"id": "/id"})
            return rows, df, fetched

    rows, df, fetched = asyncio.run(run())
    assert sorted(r.seq for r in rows) == list(range(300))
    assert {r.key: r.fields["label"] for r in rows}["299"] == "E299"
    assert sorted(df["label"]) == ["E1", "E2"]
    assert fetched[upstream.base + "/entities/8"].fields == {"id": 8}


def test_a_bad_template_raises_invalid_argument_naming_it(gatherd_bin):
    with Client() as g:
        with pytest.raises(InvalidArgument) as e:
            g.lookup("ftp://127.0.0.1/{key}", keys=["a"])
    assert "url_template" in str(e.value)
    assert isinstance(e.value, GatherError) and e.value.code.name == "INVALID_ARGUMENT"

    async def run():
        async with AsyncClient() as g:
            with pytest.raises(InvalidArgument, match="url_template"):
                async for _ in g.lookup("ftp://127.0.0.1/{key}", keys=["a"]):
                    pass
    asyncio.run(run())


def test_keys_are_read_as_the_server_asks_for_them(gatherd_bin, upstream):
    produced = itertools.count()
    progress = {"n": 0}

    def keys():
        for i in range(1_000_000):
            progress["n"] = next(produced)
            yield i

    with Client() as g:
        lookup = g.lookup(upstream.base + "/entities/{key}", keys=keys(),
                          fields={"label": "/label"}, concurrency=8)
        seen = 0
        for _ in lookup:
            seen += 1
            if seen == 200:
                break
    # gatherd holds a bounded window of keys; gRPC flow control stops the generator.
    assert progress["n"] < 100_000, progress


def test_skip_resumes_with_the_same_seqs(gatherd_bin, upstream):
    keys = [str(i) for i in range(100)]
    with Client() as g:
        first = [r for r in g.lookup(upstream.base + "/entities/{key}", keys=keys,
                                     fields={"label": "/label"})][:40]
        done = {r.key for r in first}
        lookup = g.lookup(upstream.base + "/entities/{key}", keys=keys,
                          fields={"label": "/label"}, skip=done)
        rest = list(lookup)
    assert {r.key for r in rest} == set(keys) - done
    assert all(r.seq == int(r.key) for r in rest)
    assert lookup.summary.skipped == 40 and lookup.summary.keys == 60


def test_post_bodies_and_rows_of_parameters(gatherd_bin, upstream):
    with Client() as g:
        rows = list(g.lookup(upstream.base + "/search", method="POST",
                             body={"q": "{word}"}, keys=[{"word": "alpha"}, {"word": "b\"c"}],
                             fields={"q": "/q", "n": "/n"}, idempotent=True))
    got = {r.fields["q"]: r.fields["n"] for r in rows}
    assert got == {"alpha": 5, "b\"c": 3}
    assert {r.key["word"] for r in rows} == {"alpha", "b\"c"}


def test_rank_over_a_discovered_index(gatherd_bin, upstream):
    with Client() as g:
        ranking = g.rank(Index(url=upstream.base + "/charts", keys="/charts",
                               template=upstream.base + "/data?chart={key}"),
                         score={"values": "/data", "skip_columns": 1}, top=2)
    assert [r.id for r in ranking.top] == ["b", "c"]
    assert ranking.top[0].score == pytest.approx(3.5)
    assert len(ranking.results) == 3 and ranking.summary.status_counts == {"OK": 3}


def test_an_address_is_used_as_given(server, upstream):
    with Client(server) as g:
        rows = list(g.lookup(upstream.base + "/entities/{key}", keys=["1"],
                             fields={"label": "/label"}))
        assert g.private_pids() == []
    assert rows[0].fields == {"label": "E1"}


def test_an_unreachable_server_raises_unavailable():
    with Client("unix:/nonexistent/gatherd.sock") as g:
        with pytest.raises(Unavailable):
            g.fetch(["http://127.0.0.1:9/x"], fields={"a": "/a"}, deadline=5)


def test_a_failing_key_iterable_raises_its_own_error(gatherd_bin, upstream):
    def keys():
        yield "1"
        raise KeyError("broken input")

    with Client() as g:
        with pytest.raises(KeyError, match="broken input"):
            list(g.lookup(upstream.base + "/entities/{key}", keys=keys(),
                          fields={"label": "/label"}))


def test_pages_are_followed_and_a_keys_rows_stay_together(gatherd_bin, upstream):
    pages = Pages(next_url="/next", items="/items")
    with Client() as g:
        groups = list(g.lookup(upstream.base + "/pages/{key}", keys=["a", "b", "c"],
                               fields={"v": "/v"}, pages=pages).batches(4, as_frame=False))
        results = g.fetch({"p": upstream.base + "/pages/z"}, fields={"v": "/v"}, pages=pages)
    rows = [r for group in groups for r in group]
    assert len(rows) == 18
    for group in groups:  # a key's six rows are never split
        assert not group[-1].more
    assert sorted(r.fields["v"] for r in rows if r.key == "b") == sorted(
        f"b.{n}.{j}" for n in (1, 2, 3) for j in (0, 1))
    assert [(r.page, r.item) for r in results["p"]] == [(n, j) for n in (1, 2, 3) for j in (0, 1)]
    assert [r.more for r in results["p"]] == [True] * 5 + [False]


def test_failed_keys_are_fetched_again_with_their_seqs(gatherd_bin, upstream):
    keys = [f"k{i}" for i in range(50)]
    template = upstream.base + "/flaky/{key}"
    with Client() as g:
        first = list(g.lookup(template, keys=keys, fields={"id": "/id"}, max_attempts=1))
        assert {r.status for r in first} == {"HTTP_ERROR"}
        again = failed(first, ["HTTP_ERROR"])
        assert sorted(k.seq for k in again) == list(range(50))
        second = list(g.lookup(template, keys=again, fields={"id": "/id"}, max_attempts=1))
        third = list(g.lookup(template, keys=failed(second), fields={"id": "/id"}))
    assert len(third) == 50 and all(r.ok for r in third)
    assert {(r.seq, r.key) for r in third} == {(i, f"k{i}") for i in range(50)}
    assert all(r.fields["id"] == r.key for r in third)
    with pytest.raises(ValueError, match="OK"):
        failed(third, ["OK"])
