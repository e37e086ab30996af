"""Request building, without a server."""
from __future__ import annotations

import subprocess
import sys
import pathlib

import pytest

from gather_client import Pages
from gather_client import _requests as req
from gather_client._pb import gather_pb2 as pb
from gather_client._rows import decode_value, frame_columns


def test_keys_stream_in_batches_and_skips_keep_input_positions():
    pending, counters = {}, {"skipped": 0}
    batches = list(req.key_batches(iter(range(2500)), skip_keys=["5"], skip_seqs=[7],
                                   pending=pending, counters=counters, per_message=1000))
    assert [len(b.keys) for b in batches] == [1000, 1000, 498]
    seqs = [k.seq for b in batches for k in b.keys]
    assert 5 not in seqs and 7 not in seqs and seqs[-1] == 2499
    assert counters["skipped"] == 2 and len(pending) == 2498 and pending[2499] == 2499


def test_a_mapping_is_a_row_of_parameters_labelled_by_its_json():
    key, text = req.key_message(3, {"lat": 1.5, "q": "café", "on": True, "none": None})
    assert text == '{"lat":"1.5","q":"café","on":"true","none":""}'
    assert [(c.name, c.value) for c in key.columns] == [("lat", "1.5"), ("q", "café"),
                                                        ("on", "true"), ("none", "")]
    assert req.key_message(0, 42)[1] == "42" and req.key_message(0, b"x")[1] == "x"


def test_policy_and_spec():
    spec = req.lookup_spec("http://h/{key}", fields_={"a": "/a"}, require=["/a"],
                           method="POST", body={"q": "{key}"}, headers_=[("X-A", "1")],
                           credential=None, pages=Pages(next_link=True, max_pages=5),
                           policy_options={"rate": "auto", "timeout": 2.5, "concurrency": 9})
    assert spec.policy.rate_auto and spec.policy.timeout_seconds == 2.5
    assert spec.policy.concurrency == 9 and spec.body == '{"q":"{key}"}'
    assert spec.paging.next_link and spec.paging.max_pages == 5 and not spec.paging.HasField(
        "items")
    with pytest.raises(TypeError, match="unknown policy argument 'rat'"):
        req.policy({"rat": 3})
    with pytest.raises(TypeError, match="headers"):
        req.headers(["bad"])


def test_score_and_order():
    assert req.score_spec("/v").row_reducer == pb.REDUCER_MEAN
    s = req.score_spec({"values": "/data", "skip_columns": 1, "row": "sum", "across": "max"})
    assert (s.skip_columns, s.row_reducer, s.across_reducer) == (1, pb.REDUCER_SUM,
                                                                 pb.REDUCER_MAX)
    with pytest.raises(ValueError, match="score.row"):
        req.score_spec({"values": "/v", "row": "median"})
    with pytest.raises(ValueError, match="order"):
        req.fetch_and_rank(["http://h/"], score="/v", top=1, order="up", fields_=None,
                           require=(), method=None, body=None, headers_=None, credential=None,
                           pages=None, policy_options={})


def test_values_decode_to_python_types():
    assert decode_value("") is None and decode_value("null") is None
    assert decode_value("18446744073709551617") == 2**64 + 1
    assert decode_value('{"a":[1,2.5]}') == {"a": [1, 2.5]}
    assert frame_columns(["status", "x"], paged=False)[:3] == ["seq", "key", "gather_status"]


def test_host_of():
    assert req.host_of("http://127.0.0.1:8080/{key}") == "127.0.0.1"
    assert req.host_of("https://api.example/v2/{id}?q={q}") == "api.example"
    assert req.host_of("not a url") == ""


def test_checked_in_stubs_match_the_proto():
    tool = pathlib.Path(__file__).resolve().parents[1] / "tools" / "generate_stubs.py"
    done = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_plain_key_fills_the_templates_one_placeholder():
    assert req.plain_key_column("http://h/e/{id}", "") == "id"
    assert req.plain_key_column("http://h/e/{key}", "") is None
    assert req.plain_key_column("http://h/e/{id}?q={q}", "") is None
    assert req.plain_key_column("http://h/search", '{"q": "{word}"}') == "word"
    key, text = req.key_message(1, 42, "id")
    assert text == "42" and key.key == "42" and [(c.name, c.value) for c in key.columns] == [
        ("id", "42")]


def test_the_package_is_typed():
    import gather_client
    package = pathlib.Path(gather_client.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_pb" / "gather_pb2.pyi").exists()


def test_a_field_named_like_a_metadata_column_keeps_its_values():
    from gather_client._rows import Row, to_frame
    rows = [Row(seq=0, key="k", status="OK", fields={"item": "x", "status": 7}, page=1, item=0),
            Row(seq=0, key="k", status="OK", fields={"item": "y", "status": 8}, page=1, item=1)]
    df = to_frame(rows, ["item", "status"], paged=True)
    assert list(df["item"]) == ["x", "y"] and list(df["gather_item"]) == [0, 1]
    assert list(df["status"]) == [7, 8] and list(df["gather_status"]) == ["OK", "OK"]
