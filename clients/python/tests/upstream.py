"""A local JSON API for the tests (loopback, port 0), in its own thread.

/entities/ID       {"id", "label", "location": {...}} (no location when ID % 7 == 0)
/flaky/ID          503 twice per ID, then 200 {"id": ID}
/fail              500
/places (POST)     {"places": [2 places named after textQuery, rated location.lat + 0, 1]}
/api/v1/charts, /api/v1/data   as a netdata agent
/search (POST)     echoes the JSON body's "q" as {"q": ..., "n": len(q)}
/pages/ID?page=N   {"items": [2 items], "next": relative URL of page N+1, null after page 3}
/charts            netdata-like index {"charts": {"a": {}, "b": {}, "c": {}}}
/data?chart=X      {"data": [[t, v], ...]} with a different mean per chart
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict
from urllib.parse import parse_qs, urlsplit

BIG = 2 ** 70 + 1


class Upstream:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: Dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                owner._count(url.path)
                if parts[0] == "entities" and len(parts) == 2:
                    i = int(parts[1])
                    body = {"id": i, "label": f"E{i}", "big": BIG}
                    if i % 7 != 0:
                        body["location"] = {"city": f"C{i % 10}", "population": i * 1000,
                                            "ratio": i / 4, "tags": ["x", i]}
                    self._send(200, body)
                elif parts[0] == "flaky" and len(parts) == 2:
                    if owner._count("flaky:" + parts[1]) <= 2:
                        self._send(503, {"error": "busy"})
                    else:
                        self._send(200, {"id": parts[1]})
                elif parts[0] == "pages" and len(parts) == 2:
                    n = int(parse_qs(url.query).get("page", ["1"])[0])
                    nxt = f"/pages/{parts[1]}?page={n + 1}" if n < 3 else None
                    self._send(200, {"items": [{"v": f"{parts[1]}.{n}.{j}"} for j in range(2)],
                                     "next": nxt})
                elif parts[0] == "fail":
                    self._send(500, {"error": "broken"})
                elif url.path == "/api/v1/charts":
                    self._send(200, {"charts": {"a": {}, "b": {}, "c": {}}})
                elif url.path == "/api/v1/data":
                    chart = parse_qs(url.query)["chart"][0]
                    level = {"a": 1.0, "b": 3.0, "c": 2.0}[chart]
                    self._send(200, {"data": [[t, level + t % 2] for t in range(10)]})
                elif parts[0] == "charts":
                    self._send(200, {"charts": {"a": {}, "b": {}, "c": {}}})
                elif parts[0] == "data":
                    chart = parse_qs(url.query)["chart"][0]
                    level = {"a": 1.0, "b": 3.0, "c": 2.0}[chart]
                    self._send(200, {"data": [[t, level + t % 2] for t in range(10)]})
                else:
                    self._send(404, {"error": "no such path"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                owner._count(self.path)
                if self.path == "/places":
                    q, lat = body["textQuery"], body["location"]["lat"]
                    self._send(200, {"places": [{"name": f"{q} #{k}", "rating": lat + k}
                                                for k in range(2)]})
                    return
                self._send(200, {"q": body.get("q"), "n": len(str(body.get("q")))})

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # gatherd opens many connections at once
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _count(self, name: str) -> int:
        with self._lock:
            self._hits[name] = self._hits.get(name, 0) + 1
            return self._hits[name]

    def hits(self, name: str) -> int:
        with self._lock:
            return self._hits.get(name, 0)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
