#!/usr/bin/env python3
"""gather's benchmark: gather beside wrk, a bare libcurl loop, curl --parallel and the aiohttp script
of our users, against one local nginx, interleaved over rounds, medians reported.

Run it through scripts/bench (which installs nginx, wrk, aiohttp and builds everything). Every
request goes to 127.0.0.1. Knobs (environment): ROUNDS (3), N_FAST (20000), N_SLOW50 (10000),
N_SLOW250 (20000), WRK_SECONDS (5), SCALE ("100000 1000000"; "" skips the scale figures),
SCENARIOS (all; space-separated names to run a subset), BIN (build/bin), OUT (build/bench).
"""
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.abspath(os.environ.get("BIN", os.path.join(ROOT, "build", "bin")))
OUT = os.path.abspath(os.environ.get("OUT", os.path.join(ROOT, "build", "bench")))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
N_FAST = int(os.environ.get("N_FAST", "20000"))
N_SLOW50 = int(os.environ.get("N_SLOW50", "10000"))
N_SLOW250 = int(os.environ.get("N_SLOW250", "20000"))
WRK_SECONDS = int(os.environ.get("WRK_SECONDS", "5"))
SCALE = [int(x) for x in os.environ.get("SCALE", "100000 1000000").split()]
ONLY = set(os.environ.get("SCENARIOS", "").split())

# The 9 fields our users keep from each entity.
FIELDS = [
    ("label", "/label"), ("geo", "/location/geoLabel"), ("street", "/location/streetAddress"),
    ("city", "/location/cityLabel"), ("postal", "/location/postalCode"),
    ("country", "/location/countryLabel"), ("lat", "/location/latitude"),
    ("lon", "/location/longitude"), ("type", "/type"),
]
ENTITY = (
    '{"id":"$1","label":"Entity $1, a synthetic record of the benchmark API",'
    '"description":"Served by the local nginx upstream for load tests. Lorem ipsum dolor sit amet, '
    'consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna.",'
    '"location":{"geoLabel":"Zentralbibliothek Zuerich, Zaehringerplatz 6, 8001 Zuerich",'
    '"streetAddress":"Zaehringerplatz 6","cityLabel":"Zuerich","postalCode":"8001",'
    '"countryLabel":"Switzerland","latitude":47.374167,"longitude":8.544722},'
    '"type":"library","modified":"2024-01-01T00:00:00Z","tags":["bench","entity","loopback"]}'
)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_measured(argv, **kwargs):
    """Runs argv to completion; returns (exit code, stdout, stderr, wall seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    return proc.returncode, out.decode(), err.decode(), seconds


def timed(argv, **kwargs):
    """Runs argv under /usr/bin/time -f %M; returns (exit code, stdout, stderr, peak RSS KB, s)."""
    fd, path = tempfile.mkstemp(prefix="gather-bench-time-")
    os.close(fd)
    try:
        code, out, err, seconds = run_measured(["/usr/bin/time", "-o", path, "-f", "%M"] + argv,
                                               **kwargs)
        with open(path) as f:
            lines = [l for l in f.read().split("\n") if l.strip()]
        rss = int(lines[-1]) if lines and lines[-1].strip().isdigit() else -1
        return code, out, err, rss, seconds
    finally:
        os.unlink(path)


class Nginx:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gather-bench-nginx-")
        os.chmod(self.dir, 0o755)  # nginx workers run as nobody when started by root
        self.port = free_port()
        self.proc = None

    def start(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(data, "chart"))
        os.makedirs(os.path.join(self.dir, "tmp"))
        charts = {}
        for i in range(200):
            name = f"bench.chart_{i:03d}"
            charts[name] = {"id": name, "type": "bench", "family": f"f{i % 12}"}
            rows = [[1700000000 - 60 * r] + [((i * 7 + r * 3 + d) % 100) + 0.5 for d in range(3)]
                    for r in range(5)]
            with open(os.path.join(data, "chart", name + ".json"), "w") as f:
                json.dump({"labels": ["time", "a", "b", "c"], "data": rows}, f)
        with open(os.path.join(data, "charts.json"), "w") as f:
            json.dump({"charts": charts}, f)
        for root, dirs, files in os.walk(self.dir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        nginx_v = subprocess.run(["nginx", "-V"], capture_output=True, text=True).stderr
        modules = "/usr/lib/nginx/modules"
        for token in nginx_v.split():
            if token.startswith("--modules-path="):
                modules = token.split("=", 1)[1]
        with open(os.path.join(HERE, "nginx", "nginx.conf.in")) as f:
            conf = f.read()
        for key, value in (("{{ECHO_MODULE}}", os.path.join(modules, "ngx_http_echo_module.so")),
                           ("{{PORT}}", str(self.port)), ("{{DATA}}", data),
                           ("{{ENTITY}}", ENTITY)):
            conf = conf.replace(key, value)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir + "/", "-c", "nginx.conf", "-e", "error.log", "-g",
             "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start; see " + os.path.join(self.dir, "error.log"))

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Gatherd:
    """A fresh gatherd per measurement, so its peak RSS belongs to that measurement."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "gatherd"), "--listen=127.0.0.1:0", "--egress_allow=127.0.0.0/8"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError("gatherd did not start: " + line)
        self.address = line.split()[-1]

    def stop(self):
        """Stops gatherd; returns its peak RSS in KB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            hwm = next((int(l.split()[1]) for l in f if l.startswith("VmHWM:")), -1)
        self.proc.terminate()
        self.proc.wait()
        return hwm


class Bench:
    def __init__(self, nginx, work):
        self.nginx = nginx
        self.work = work
        self.keys = {}

    def keys_file(self, n):
        if n not in self.keys:
            path = os.path.join(self.work, f"keys-{n}.txt")
            with open(path, "w") as f:
                f.write("".join(f"{i}\n" for i in range(1, n + 1)))
            self.keys[n] = path
        return self.keys[n]

    # Each measurement returns a dict with at least "rps".
    def wrk(self, path, conns):
        code, out, err, rss, _ = timed(
            ["wrk", "-t2", f"-c{conns}", f"-d{WRK_SECONDS}s", f"{self.nginx.base}{path}1"])
        rps = next((float(l.split()[1]) for l in out.splitlines() if l.startswith("Requests/sec")),
                   0.0)
        return {"rps": rps, "client_rss_kb": rss}

    def bare(self, path, n, conns):
        code, out, err, rss, _ = timed(
            [os.path.join(BIN, "bench-bare-curl"), f"{self.nginx.base}{path}", str(n), str(conns)])
        result = json.loads(out.strip().splitlines()[-1])
        return {"rps": result["rps"], "client_rss_kb": rss, "ok": result["ok"]}

    def curl(self, n):
        config = os.path.join(self.work, f"curl-{n}.cfg")
        if not os.path.exists(config):
            with open(config, "w") as f:
                for i in range(1, n + 1):
                    f.write(f'url = "{self.nginx.base}/api/v2/entities/{i}"\noutput = "/dev/null"\n')
        code, out, err, rss, seconds = timed(
            ["curl", "--no-progress-meter", "--parallel", "--parallel-max", "100", "-K", config])
        return {"rps": n / seconds, "client_rss_kb": rss}

    def aiohttp(self, n):
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        code, out, err, rss, _ = timed(
            [python, os.path.join(HERE, "aiohttp_client.py"), f"{self.nginx.base}/api/v2/entities/",
             str(n), os.path.join(self.work, "aiohttp.csv")])
        result = json.loads(out.strip().splitlines()[-1])
        return {"rps": result["rps"], "client_rss_kb": rss, "ok": result["ok"]}

    def lookup(self, path, n, conns, out_name="lookup.csv"):
        server = Gatherd()
        try:
            argv = [os.path.join(BIN, "gather"), "--server", server.address, "lookup",
                    "--template", f"{self.nginx.base}{path}{{key}}", "--keys", self.keys_file(n),
                    "--require", "/location", "--concurrency", str(conns), "--quiet",
                    "--out", os.path.join(self.work, out_name)]
            for name, pointer in FIELDS:
                argv += ["--field", f"{name}={pointer}"]
            code, out, err, rss, seconds = timed(argv)
        finally:
            server_rss = server.stop()
        if code != 0:
            raise RuntimeError(f"gather lookup exited {code}: {err}")
        return {"rps": n / seconds, "client_rss_kb": rss, "server_rss_kb": server_rss,
                "seconds": seconds}

    def rank(self):
        server = Gatherd()
        try:
            code, out, err, rss, seconds = timed(
                [os.path.join(BIN, "gather"), "--server", server.address, "rank",
                 "--index", f"{self.nginx.base}/api/v1/charts", "--keys", "/charts",
                 "--template", f"{self.nginx.base}/api/v1/data?chart={{key}}",
                 "--pointer", "/data", "--skip-columns", "1", "--top", "10", "--quiet",
                 "--concurrency", "100"])
        finally:
            server_rss = server.stop()
        if code != 0:
            raise RuntimeError(f"gather rank exited {code}: {err}")
        return {"rps": 201 / seconds, "client_rss_kb": rss, "server_rss_kb": server_rss,
                "seconds": seconds}


# name -> (group, description, function(bench))
SCENARIOS = [
    ("wrk", "fast", "wrk, 100 connections", lambda b: b.wrk("/api/v2/entities/", 100)),
    ("bare_curl", "fast", "bare libcurl multi loop, 100", lambda b: b.bare("/api/v2/entities/", N_FAST, 100)),
    ("curl_parallel", "fast", "curl --parallel --parallel-max 100", lambda b: b.curl(N_FAST)),
    ("aiohttp", "fast", "aiohttp + asyncio.gather, limit=100, 9 fields, CSV", lambda b: b.aiohttp(N_FAST)),
    ("gather_lookup", "fast", "gather lookup -> gatherd, 100, 9 fields, CSV", lambda b: b.lookup("/api/v2/entities/", N_FAST, 100)),
    ("gather_rank", "fast", "gather rank, 200 charts (index + 200 fetches)", lambda b: b.rank()),
    ("wrk_50ms", "slow50", "wrk, 100 connections", lambda b: b.wrk("/slow50/entities/", 100)),
    ("bare_curl_50ms", "slow50", "bare libcurl multi loop, 100", lambda b: b.bare("/slow50/entities/", N_SLOW50, 100)),
    ("gather_lookup_50ms", "slow50", "gather lookup, 100", lambda b: b.lookup("/slow50/entities/", N_SLOW50, 100)),
    ("wrk_250ms", "slow250", "wrk, 1,000 connections", lambda b: b.wrk("/slow250/entities/", 1000)),
    ("bare_curl_250ms", "slow250", "bare libcurl multi loop, 1,000", lambda b: b.bare("/slow250/entities/", N_SLOW250, 1000)),
    ("gather_lookup_250ms", "slow250", "gather lookup, 1,000", lambda b: b.lookup("/slow250/entities/", N_SLOW250, 1000)),
]
IDEAL = {"slow50": 100 / 0.05, "slow250": 1000 / 0.25}


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_kb = 0
    with open("/proc/meminfo") as f:
        mem_kb = int(next(l.split()[1] for l in f if l.startswith("MemTotal")))
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    curl_v = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem_kb // 1024 // 1024} GiB, "
            f"{platform.system()} {platform.release()}; {nginx_v}; {curl_v.split(' (')[0]}")


def fmt_kb(kb):
    return "—" if kb is None or kb < 0 else f"{kb / 1024:.0f} MB"


def main():
    raise_nofile()
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="gather-bench-work-")
    nginx = Nginx()
    nginx.start()
    bench = Bench(nginx, work)
    results = {name: [] for name, *_ in SCENARIOS}
    chosen = [s for s in SCENARIOS if not ONLY or s[0] in ONLY]
    t_start = time.time()
    try:
        # Warm-up: nginx, page cache and the key files, outside the measurements.
        bench.bare("/api/v2/entities/", 2000, 100)
        for r in range(ROUNDS):
            # Rotate the order each round so no client always runs first (interleaved rounds).
            order = chosen[r % len(chosen):] + chosen[:r % len(chosen)]
            for name, group, desc, fn in order:
                result = fn(bench)
                results[name].append(result)
                log(f"round {r + 1}/{ROUNDS} {name}: {result['rps']:.0f} req/s")
        scale = []
        for n in SCALE:
            result = bench.lookup("/api/v2/entities/", n, 100, out_name=f"scale-{n}.jsonl")
            result["n"] = n
            scale.append(result)
            log(f"scale {n}: {result['seconds']:.1f} s")
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    def med(name, key="rps"):
        values = [r[key] for r in results.get(name, []) if r.get(key) is not None]
        return statistics.median(values) if values else None

    lines = []
    lines.append(f"Machine: {machine()}")
    lines.append(f"Rounds: {ROUNDS} interleaved; medians. N: fast {N_FAST}, 50 ms {N_SLOW50}, "
                 f"250 ms {N_SLOW250}; wrk {WRK_SECONDS} s. Took {time.time() - t_start:.0f} s.")
    lines.append("")
    lines.append("| scenario | endpoint | req/s | × wrk | × bare libcurl | × aiohttp | × ideal | client RSS | server RSS |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    base = {"fast": ("wrk", "bare_curl"), "slow50": ("wrk_50ms", "bare_curl_50ms"),
            "slow250": ("wrk_250ms", "bare_curl_250ms")}
    aio = med("aiohttp")
    for name, group, desc, _ in chosen:
        rps = med(name)
        if rps is None:
            continue
        wrk_rps, bare_rps = med(base[group][0]), med(base[group][1])
        cells = [desc, {"fast": "600 B entity", "slow50": "50 ms", "slow250": "250 ms"}[group],
                 f"{rps:,.0f}",
                 f"{rps / wrk_rps:.2f}" if wrk_rps else "—",
                 f"{rps / bare_rps:.2f}" if bare_rps else "—",
                 f"{rps / aio:.1f}" if aio and group == "fast" else "—",
                 f"{rps / IDEAL[group]:.2f}" if group in IDEAL else "—",
                 fmt_kb(med(name, "client_rss_kb")), fmt_kb(med(name, "server_rss_kb"))]
        lines.append("| " + " | ".join(cells) + " |")
    if scale:
        lines.append("")
        lines.append("| BatchLookup scale (fast endpoint, 100, 9 fields, JSONL) | seconds | µs per key | keys/s | client RSS | server RSS |")
        lines.append("|---|---|---|---|---|---|")
        for r in scale:
            lines.append(f"| {r['n']:,} keys | {r['seconds']:.1f} | {r['seconds'] / r['n'] * 1e6:.1f} | "
                         f"{r['n'] / r['seconds']:,.0f} | {fmt_kb(r['client_rss_kb'])} | {fmt_kb(r['server_rss_kb'])} |")
        if len(scale) >= 2:
            a, b = scale[0], scale[-1]
            lines.append("")
            lines.append(f"RSS ratio {b['n']:,} / {a['n']:,} keys: server "
                         f"{b['server_rss_kb'] / a['server_rss_kb']:.2f}×, client "
                         f"{b['client_rss_kb'] / a['client_rss_kb']:.2f}×")
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"rounds": results, "scale": scale}, f, indent=1)
    with open(os.path.join(OUT, "report.md"), "w") as f:
        f.write(report + "\n")
    log(f"raw results: {os.path.join(OUT, 'results.json')}")


if __name__ == "__main__":
    main()
