"""What the stress scripts (cluster-test, fault-test, hostile-test, soak) share: the services, a
release build, a fresh database with registered applications, collectors run as child processes
and read through /metrics, and a table of checks that decides the exit status.

Every process a script starts is stopped by its PID when the script ends (also on failure).
"""
import atexit
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_children = []


def run(command, **kwargs):
    """Runs a command from the repository root; raises with its output when it fails."""
    result = subprocess.run(command, text=True, capture_output=True, cwd=ROOT, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout}{result.stderr}")
    return result


def psql(url, sql, stdin=None):
    return run(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql], input=stdin).stdout.strip()


def services():
    """Starts (or finds) the throwaway PostgreSQL and Redis; returns their environment."""
    env = {}
    for line in run(["scripts/services", "up"]).stdout.splitlines():
        match = re.match(r"export (\w+)='(.*)'", line)
        if match:
            env[match.group(1)] = match.group(2)
    return env


def build_release():
    """Builds `heartbeat` in release mode; returns its path."""
    print("==> building heartbeat (release)", flush=True)
    run(["swift", "build", "-c", "release", "--product", "heartbeat"])
    return os.path.join(run(["swift", "build", "-c", "release", "--show-bin-path"]).stdout.strip(), "heartbeat")


def fresh_database(env, heartbeat, name):
    """Drops and creates database `name` on the service, migrated; returns its URL."""
    server = env["HEARTBEAT_DATABASE_URL"]
    url = server.rsplit("/", 1)[0] + "/" + name
    psql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(server, f"CREATE DATABASE {name}")
    run([heartbeat, "migrate", "--database-url", url])
    return url


def record(app, instance, sequence, sent_at=None, kind=0, version=1, interval_ms=10_000, secret=None, tag=None):
    """One 64-byte record (Spec/protocol.md's byte table) of application `app` (its 16 UUID
    bytes), sent at `sent_at` (Unix µs; now by default). Its tag is `tag` when given, else the
    HMAC-SHA256 under `secret` (first 16 bytes), else zeros (unsigned)."""
    sent_at = sent_at if sent_at is not None else time.time_ns() // 1000
    body = struct.pack(">2sBB16sIQqIi", b"HB", version, kind, app, instance, sequence, sent_at, interval_ms, 0)
    if tag is None:
        tag = hmac.new(secret, body, hashlib.sha256).digest()[:16] if secret else bytes(16)
    return body + tag


def beat_record(app, sequence, interval_ms, instance=7):
    """An unsigned beat record of application `app` (a UUID string) from `instance`, sent now;
    returns (the 64 bytes, sent_at in Unix µs)."""
    sent_at = time.time_ns() // 1000
    return record(uuid.UUID(app).bytes, instance, sequence, sent_at=sent_at, interval_ms=interval_ms), sent_at


def register(heartbeat, url, apps, seed, signed=False, interval_ms=10_000, grace_ms=5_000, name="stress"):
    """Registers `heartbeat load`'s applications of `seed`; returns [(uuid, secret or None)]."""
    listed = run([heartbeat, "load", "--apps", str(apps), "--seed", str(seed), "--print-apps"]
                 + (["--signed"] if signed else [])).stdout.split("\n")
    pairs = [(line.split()[0], line.split()[1] if signed else None) for line in listed if line.strip()]
    null = "\\N"
    escaped_hex = "\\\\x"  # COPY text format: a backslash is written twice
    rows = "".join(f"{uuid}\t{name}\t{interval_ms}\t{grace_ms}\t{escaped_hex + secret if secret else null}\n" for uuid, secret in pairs)
    psql(url, "COPY application (uuid, name, interval_ms, grace_ms, secret) FROM STDIN", stdin=rows)
    return pairs


def clean_environment():
    """This process's environment without HEARTBEAT_* settings, for a collector started with explicit
    flags: one started from a shell holding the services' environment would otherwise pick up its
    Redis URL (and share the default key prefix with any other collector on that Redis)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("HEARTBEAT_")}


def start(command, log_path, **kwargs):
    """Starts a child process whose output goes to `log_path`; it is stopped when the script ends."""
    log = open(log_path, "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, **kwargs)
    _children.append(process)
    return process


def _stop_children():
    for process in _children:
        if process.poll() is None:
            process.kill()
            process.wait()


atexit.register(_stop_children)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


class Collector:
    """One `heartbeat serve` child: its HTTP port and final totals (read from its --snapshot-file),
    /metrics and /v1/collector, stopping."""

    def __init__(self, heartbeat, name, url, udp, extra=(), env_redis=None, redis_prefix=None, log_dir=None, fresh_spool=True,
                 http_port=None):
        """With `http_port`, the sidecar listens there and no --snapshot-file is asked for: for a
        build older than that flag (benchmarks comparing with one), known only through /metrics."""
        self.name = name
        self.log_path = os.path.join(log_dir or os.path.join(ROOT, ".data", "stress"), f"{name}.log")
        os.makedirs(os.path.dirname(self.log_path), exist_ok=True)
        spool = os.path.join(os.path.dirname(self.log_path), f"spool-{name}")
        self.snapshot_path = os.path.join(os.path.dirname(self.log_path), f"{name}.snapshot.json")
        if os.path.exists(self.snapshot_path):
            os.remove(self.snapshot_path)
        if fresh_spool:
            # Every script stores into a fresh database: what an earlier run left spooled belongs to
            # another one, and replaying it here would count rows twice.
            shutil.rmtree(spool, ignore_errors=True)
        command = [heartbeat, "serve", "--udp", udp, "--http", f"127.0.0.1:{http_port or 0}", "--database-url", url, "--spool-dir", spool,
                   "--status-interval-s", "0", "--collector-id", name,
                   *([] if http_port else ["--snapshot-file", self.snapshot_path]), *extra]
        if env_redis:
            command += ["--redis-url", env_redis, "--redis-prefix", redis_prefix or "stress"]
        self.process = start(command, self.log_path, env=clean_environment())
        self.http = None
        deadline = time.time() + 30
        while time.time() < deadline and self.http is None:
            if self.process.poll() is not None:
                raise SystemExit(f"collector {name} exited at start:\n{self.log()}")
            if http_port:
                try:
                    scrape(http_port)
                    self.http = http_port
                except OSError:
                    time.sleep(0.1)
            elif os.path.exists(self.snapshot_path):
                self.http = self.snapshot_file()["http_port"]
            else:
                time.sleep(0.1)
        if self.http is None:
            raise SystemExit(f"collector {name} did not start:\n{self.log()}")

    def log(self):
        with open(self.log_path) as file:
            return file.read()

    def snapshot_file(self):
        """The --snapshot-file document: {"collector": …, "http_port": N, "state": …}."""
        with open(self.snapshot_path) as file:
            return json.load(file)

    def snapshot(self):
        """GET /v1/collector: the running collector's figures as JSON (Spec/metrics.md)."""
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{self.http}/v1/collector", timeout=5).read())

    def wait_settled(self, received_at_least, timeout=120):
        """Polls /v1/collector until at least `received_at_least` records were received, none is in
        flight and every accepted row is settled (stored, spooled, dead-lettered, dropped or
        discarded); returns those ingest totals (as `final_totals` shapes them)."""
        deadline = time.time() + timeout
        totals = {}
        while time.time() < deadline:
            totals = final_totals(self.snapshot())
            settled = sum(totals.get(key, 0) for key in
                          ("stored", "spooled", "spool_full", "spool_error", "storage_busy", "dead_lettered", "discarded",
                           "not_kept_raw"))
            if totals["received"] >= received_at_least and totals["ring"] == 0 and totals["in_flight"] == 0 \
                    and settled == totals["accepted"]:
                return totals
            time.sleep(0.2)
        raise SystemExit(f"collector {self.name} did not settle within {timeout} s: {totals}")

    def metrics(self):
        """The /metrics samples as {"name{labels}": value}."""
        return scrape(self.http)

    def wait_settled_by_metrics(self, received_at_least, timeout=120):
        """`wait_settled` read from /metrics only (what any build of the collector exports): at least
        `received_at_least` received, nothing in the rings, and every record discarded, stored,
        spooled or rejected."""
        deadline = time.time() + timeout
        samples = {}
        while time.time() < deadline:
            samples = self.metrics()
            received = samples.get("heartbeat_records_received_total", 0)
            placed = sum(value for key, value in samples.items() if key.startswith("heartbeat_records_rejected_total")) \
                + samples.get("heartbeat_rows_discarded_total", 0) + samples.get("heartbeat_rows_stored_total", 0) \
                + samples.get("heartbeat_raw_events_not_kept_total", 0) \
                + samples.get("heartbeat_rows_spooled_total", 0)
            if received >= received_at_least and samples.get("heartbeat_ring_occupancy_rows", 1) == 0 and placed == received:
                return samples
            time.sleep(0.2)
        raise SystemExit(f"collector {self.name} did not settle within {timeout} s")

    def stop(self, timeout=120):
        """SIGTERM, then waits: the collector drains and stores every accepted record. Returns its
        final ingest totals (see `final_totals`); the whole final snapshot is then `self.final`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        document = self.snapshot_file() if os.path.exists(self.snapshot_path) else {}
        self.final = document.get("collector", {}) if document.get("state") == "stopped" else {}
        return final_totals(self.final)

    def kill(self):
        self.process.kill()
        self.process.wait()


def scrape(port):
    """The /metrics samples of the sidecar on 127.0.0.1:`port`, as {"name{labels}": value}."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


def histogram_quantile(samples, name, quantile):
    """The `quantile` (0-1) of Prometheus histogram `name` in `samples`, interpolated linearly inside
    its bucket as the collector's own snapshot does; None when it is empty."""
    buckets = sorted((float("inf") if key.split('le="')[1].rstrip('"}') == "+Inf" else float(key.split('le="')[1].rstrip('"}')), value)
                     for key, value in samples.items() if key.startswith(name + "_bucket{"))
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return None
    rank, below, lower = quantile * total, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank and cumulative > below:
            upper = bound if bound != float("inf") else lower * 2
            return lower + (upper - lower) * (rank - below) / (cumulative - below)
        below, lower = cumulative, bound if bound != float("inf") else lower
    return lower


def final_totals(snapshot):
    """A collector snapshot's ingest counts ({} for an empty snapshot: it did not stop cleanly), with
    the rejection reasons beside them under their labels (`malformed`, `auth`, `rate_limited`, …)."""
    ingest = snapshot.get("ingest", {})
    totals = {key: value for key, value in ingest.items() if isinstance(value, int) and not isinstance(value, bool)}
    totals.update(ingest.get("rejected", {}))
    return totals


def load(heartbeat, port, apps, seed, rate, seconds, signed=False, per_datagram=16, wait=True, log=None, host="127.0.0.1", nice=False):
    """Runs `heartbeat load` (at the lowest CPU priority with `nice`); returns the records it sent
    (or the process when wait=False)."""
    command = (["nice", "-n", "19"] if nice else []) + [heartbeat, "load", "--endpoint", f"{host}:{port}", "--apps", str(apps), "--seed", str(seed), "--rate", str(rate),
               "--duration", str(seconds), "--records-per-datagram", str(per_datagram), "--quiet"] + (["--signed"] if signed else [])
    if not wait:
        return start(command, log or os.path.join(ROOT, ".data", "stress", f"load-{seed}.log"))
    return sent_by(run(command).stdout)


def sent_by(output):
    match = re.search(r"total: records=(\d+)", output)
    if not match:
        raise SystemExit(f"no total line from heartbeat load:\n{output}")
    return int(match.group(1))


class Checks:
    """Named pass/fail checks; `finish()` prints them and exits non-zero if any failed."""

    def __init__(self):
        self.results = []

    def check(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))
        return ok

    def finish(self):
        width = max((len(name) for name, _, _ in self.results), default=0)
        print("checks\n------")
        for name, ok, detail in self.results:
            print(f"  {'PASS' if ok else 'FAIL'}  {name:<{width}}  {detail}")
        failed = [name for name, ok, _ in self.results if not ok]
        if failed:
            print(f"{len(failed)} check(s) failed", file=sys.stderr)
            sys.exit(1)
        print(f"all {len(self.results)} checks passed")


def table(title, rows):
    """Prints `rows` ([(label, value…)]) under `title` as aligned columns: numbers to the right,
    text to the left."""
    print(title + "\n" + "-" * len(title))
    widths = [max(len(str(row[column])) for row in rows) for column in range(len(rows[0]))]

    def numeric(cell):
        return isinstance(cell, (int, float)) or bool(re.fullmatch(r"[-+]?[\d,.]+\s?\S{0,6}", str(cell)))
    for row in rows:
        print("  " + "  ".join(str(cell).rjust(width) if index > 0 and numeric(cell) else str(cell).ljust(width)
                               for index, (cell, width) in enumerate(zip(row, widths))).rstrip())
    print()


def ensure_packages(packages):
    """Installs the Debian packages missing from `packages`, without letting their install scripts
    start a service (a policy-rc.d that refuses, for the duration): the scripts start what they need
    themselves, on loopback, and stop it again."""
    missing = [package for package in packages
               if "install ok installed" not in subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                                               capture_output=True, text=True).stdout]
    if not missing:
        return
    print(f"==> installing Debian packages: {' '.join(missing)}", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    policy = "/usr/sbin/policy-rc.d"
    placed = not os.path.exists(policy)
    if placed:
        run(prefix + ["sh", "-c", f"printf '#!/bin/sh\\nexit 101\\n' > {policy} && chmod +x {policy}"])
    try:
        environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(prefix + ["apt-get", "update", "-qq"], env=environment)
        run(prefix + ["apt-get", "install", "-y", "-qq", *missing], env=environment)
    finally:
        if placed:
            run(prefix + ["rm", "-f", policy])


def start_nginx(directory, blocks, modules=""):
    """nginx with one worker, in the foreground, run from `directory` (its config, pid and error
    log live there): `modules` (load_module lines) and `blocks` (the stream or http block) around
    the settings every caller shares. Stopped when the script ends; exits with nginx's error log
    when it does not start."""
    config = os.path.join(directory, "nginx.conf")
    with open(config, "w") as file:
        file.write(f"""{modules}worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
{blocks}""")
    process = start(["nginx", "-c", config, "-p", directory, "-g", "daemon off;"], os.path.join(directory, "stdout.log"))
    time.sleep(1)
    if process.poll() is not None:
        raise SystemExit("nginx did not start: " + open(os.path.join(directory, "error.log")).read())
    return process


def wrk(port, paths, connections, seconds, directory, method="GET"):
    """Runs wrk (2 threads, keep-alive) over `paths`, one chosen at random per request; returns
    {"rate": requests/s, "p50", "p99": ms, "non2xx": count, "requests": completed}."""
    listing = os.path.join(directory, "paths.lua")
    with open(listing, "w") as script:
        script.write("paths = {\n" + ",\n".join(f'"{path}"' for path in paths) + "\n}\n")
        script.write(f"math.randomseed(7)\nrequest = function()\n  return wrk.format(\"{method}\", paths[math.random(#paths)])\nend\n")
    output = run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", listing,
                  f"http://127.0.0.1:{port}"]).stdout

    def milliseconds(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", output, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "p50": milliseconds("50"), "p99": milliseconds("99"),
            "non2xx": int(errors.group(1)) if errors else 0, "requests": int(re.search(r"(\d+) requests in", output).group(1))}


def udp_drops(port):
    """Datagrams the kernel dropped on the sockets bound to local UDP `port` (any address), from
    /proc/net/udp and /proc/net/udp6 (the `drops` column; it lives as long as the socket)."""
    total = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 12 and int(fields[1].split(":")[1], 16) == port:
                total += int(fields[12])
    return total


def wait_until(predicate, timeout, step=0.2):
    """Polls `predicate` until it is true or `timeout` seconds pass (a refused connection counts as
    false); returns its last answer."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def metric_sum(samples, prefix):
    """The sum of every sample whose name (with labels) starts with `prefix`."""
    return int(sum(value for key, value in samples.items() if key.startswith(prefix)))


def settled(collector):
    """Whether the collector has nothing in flight: rings and spool empty, received = accepted +
    rejected, accepted = stored + spooled + dead-lettered from batches + dropped + discarded (Spec/storage.md)."""
    m = collector.metrics()
    received = m["heartbeat_records_received_total"]
    accepted = m["heartbeat_records_accepted_total"]
    rejected = metric_sum(m, "heartbeat_records_rejected_total")
    placed = (m["heartbeat_rows_stored_total"] + m["heartbeat_rows_spooled_total"] + metric_sum(m, "heartbeat_rows_dropped_total")
              + m.get("heartbeat_rows_discarded_total", 0) + m.get("heartbeat_raw_events_not_kept_total", 0)
              + m.get('heartbeat_rows_dead_lettered_total{source="batch"}', 0))
    return received == accepted + rejected and accepted == placed and m["heartbeat_spool_rows"] == 0 and m["heartbeat_ring_occupancy_rows"] == 0
