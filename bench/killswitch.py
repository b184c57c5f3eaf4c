#!/usr/bin/env python3
"""Kill switch reaction of `canary-report capture`, measured on a throw-away MariaDB.

Each trial runs a real capture against a server of its own (a fresh data
directory on a free 127.0.0.1 port), turns a kill switch ON at a known
moment, and reads events.jsonl afterwards:

  kill path  the switch goes ON while the ALTER runs:
             ON -> switch read ON -> KILL QUERY sent -> ALTER gone (ddl_end)
  drop path  the switch goes ON in the monitoring window, the index in place:
             ON -> switch read ON -> DROP INDEX done -> index verified absent

for a file switch (`file:`, inotify) and an HTTP switch (a loopback server
answering {"enabled": ...}), each at capture's default cadence. Prints the
median and worst of each interval and writes them as JSON.

Usage: python3 bench/killswitch.py [--trials 20] [--rows 2000000] [--out FILE] [--keep DIR]
Needs Debian's mariadb-server (mariadb-install-db, mariadbd, mariadb) and a
release build (bench/killswitch.sh builds one and runs this).
"""

import argparse
import http.server
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

SBIN = ["/usr/sbin", "/usr/local/sbin", "/sbin"]
KEEP = False


def program(name):
    found = shutil.which(name) or next(
        (os.path.join(d, name) for d in SBIN if os.path.exists(os.path.join(d, name))), None
    )
    if not found:
        sys.exit(f"{name} not found: apt-get install mariadb-server")
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A throw-away mariadbd: its own directory, socket and port."""

    def __init__(self, root, rows):
        self.dir = tempfile.mkdtemp(prefix="ks-bench-db-", dir=root)
        data, tmp = os.path.join(self.dir, "data"), os.path.join(self.dir, "tmp")
        os.makedirs(tmp)
        subprocess.run(
            [program("mariadb-install-db"), "--no-defaults", f"--datadir={data}",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root",
             f"--tmpdir={tmp}"],
            check=True, capture_output=True)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "sock")
        self.proc = subprocess.Popen(
            [program("mariadbd"), "--no-defaults", f"--datadir={data}",
             f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
             "--skip-networking=0", "--skip-name-resolve", "--user=root", "--skip-log-bin",
             f"--log-error={self.dir}/error.log", f"--tmpdir={tmp}",
             "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while self.sql("SELECT 1", check=False).returncode != 0:
            if self.proc.poll() is not None or time.time() > deadline:
                sys.exit(f"mariadbd did not start; see {self.dir}/error.log")
            time.sleep(0.1)
        self.password = "bench-" + str(random.randrange(10**9))
        self.sql(
            f"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{self.password}';"
            f"ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{self.password}';"
            "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.orders (id BIGINT PRIMARY KEY AUTO_INCREMENT,"
            " customer_id INT NOT NULL, note VARCHAR(40) NOT NULL) ENGINE=InnoDB;"
            "USE shop;"
            f"INSERT INTO shop.orders (customer_id, note)"
            f" SELECT seq % 50000, md5(seq) FROM seq_1_to_{rows};"
            "ANALYZE TABLE shop.orders;")
        self.password_file = os.path.join(self.dir, "password")
        with open(os.open(self.password_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(self.password + "\n")

    def sql(self, text, check=True):
        done = subprocess.run(
            [program("mariadb"), "--no-defaults", "-uroot", f"--socket={self.socket}",
             "-e", text],
            capture_output=True, text=True)
        if check and done.returncode != 0:
            self.stop()
            sys.exit(f"mariadb -e {text[:60]!r}...: {done.stderr.strip()}")
        return done

    def index_exists(self):
        out = self.sql("SHOW INDEX FROM shop.orders WHERE Key_name = 'idx_bench'").stdout
        return "idx_bench" in out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


class HttpSwitch:
    """A kill switch service on loopback: {"enabled": false} until turned on."""

    def __init__(self):
        self.enabled = False
        self.requests = 0
        switch = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                switch.requests += 1
                body = json.dumps({"enabled": switch.enabled}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/switch"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def turn_on(self):
        t = time.time()
        self.enabled = True
        return t

    def close(self):
        self.httpd.shutdown()


def thresholds(root):
    path = os.path.join(root, "thresholds.toml")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(NOT_JUDGED)
    return path


def events(run):
    path = os.path.join(run, "events.jsonl")
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):
                e = json.loads(line)
                e["t"] = datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
                out.append(e)
    return out


def first(evs, pred):
    return next((e for e in evs if pred(e)), None)


# The bench measures the kill switch, not the judge: on a loaded 2-core machine
# the ALTER itself can push the probe's latency or the CPU over their bounds and
# roll back before the switch is turned on (a void trial). Recorded, not judged.
NOT_JUDGED = """
[metrics.query_latency_p50_ms]
kind = "none"
[metrics.query_latency_p99_ms]
kind = "none"
[metrics.cpu_usage_pct]
kind = "none"
[metrics.disk_write_mb_s]
kind = "none"
[metrics.disk_read_mb_s]
kind = "none"
"""


def trial(binary, server, root, kind, path, n):
    """One capture; returns the intervals in seconds, or why the trial is void."""
    run = os.path.join(root, f"run-{kind}-{path}-{n}")
    flag = os.path.join(root, f"flag-{kind}-{path}-{n}")
    http = HttpSwitch() if kind == "http" else None
    switch = http.url if http else f"file:{flag}"
    cmd = [binary, "capture",
           "--dsn", f"mysql://root@127.0.0.1:{server.port}/shop",
           "--password-file", server.password_file,
           "--table", "orders", "--index", "idx_bench", "--columns", "customer_id",
           "--out", run, "--run-id", f"KS-BENCH-{kind}-{path}-{n}", "--tenant", "bench",
           "--global-kill-switch", switch, "--connection-kill-switch", switch,
           "--baseline", "2s", "--monitoring", "20s", "--checkpoints", "20s",
           "--after", "1s", "--quiet", "--thresholds", thresholds(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Wait for the moment to turn the switch on: a random point early in the
    # ALTER, or in the monitoring window.
    want = "ddl_start" if path == "kill" else "phase_start"
    deadline = time.time() + 120
    started = None
    while started is None:
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            return None, f"capture ended before {want}: {proc.stderr.read()[-400:]}"
        started = first(events(run), lambda e: e["type"] == want and (
            want == "ddl_start" or e.get("phase") == "monitoring"))
        time.sleep(0.01)
    time.sleep(random.uniform(0.3, 0.8))
    if http:
        t_on = http.turn_on()
    else:
        t_on = time.time()
        with open(flag, "w"):
            pass
    try:
        proc.wait(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None, "capture did not end within 180 s"
    finally:
        if http:
            http.close()
    evs = events(run)
    # Event times are in whole milliseconds.
    seen = first(evs, lambda e: e["type"] == "kill_switch_check" and e["t"] >= t_on - 0.001
                 and (e["global"] != "off" or e["connection"] != "off"))
    if seen is None:
        return None, "no kill switch check read ON"
    r = {"read_on": seen["t"] - t_on}
    if path == "kill":
        end = first(evs, lambda e: e["type"] == "ddl_end")
        if end is None or end["t"] < t_on:
            return None, "the ALTER finished before the switch (more --rows)"
        if end["outcome"] != "killed":
            return None, f"the ALTER was not killed: {end}"
        sent = first(evs, lambda e: e["type"] == "log" and e["message"].startswith("KILL QUERY")
                     and "sent" in e["message"])
        r["kill_query_sent"] = sent["t"] - t_on
        r["alter_gone"] = end["t"] - t_on
    else:
        drop = first(evs, lambda e: e["type"] == "rollback_step" and e["step"] == 3)
        gone = first(evs, lambda e: e["type"] == "rollback_step" and e["step"] == 4)
        if drop is None or drop["status"] != "done" or gone["status"] != "done":
            return None, f"the DROP INDEX path did not complete: {drop} {gone}"
        r["drop_index_done"] = drop["t"] - t_on
        r["index_verified_absent"] = gone["t"] - t_on
    if server.index_exists():
        return None, "the index is still there after the run"
    if http:
        r["http_requests"] = http.requests
    if not KEEP:
        shutil.rmtree(run, ignore_errors=True)
    return r, None


def summary(results):
    keys = [k for k in results[0] if k != "http_requests"]
    return {k: {"median_s": statistics.median(r[k] for r in results),
                "worst_s": max(r[k] for r in results),
                "n": len(results)} for k in keys}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--binary", default="target/release/canary-report")
    p.add_argument("--out", default="bench/data/killswitch.json")
    p.add_argument("--only", choices=["file-kill", "file-drop", "http-kill", "http-drop"],
                   action="append")
    p.add_argument("--keep", metavar="DIR",
                   help="keep the run directories under DIR (to see what took the time)")
    a = p.parse_args()
    global KEEP
    KEEP = bool(a.keep)
    root = a.keep or tempfile.mkdtemp(prefix="ks-bench-")
    os.makedirs(root, exist_ok=True)
    print(f"throw-away MariaDB with {a.rows} rows in {root} ...", file=sys.stderr)
    server = Server(root, a.rows)
    report = {"trials": a.trials, "rows": a.rows, "results": {}}
    try:
        for name in a.only or ["file-kill", "http-kill", "file-drop", "http-drop"]:
            kind, path = name.split("-")
            got, void = [], []
            while len(got) < a.trials and len(void) < a.trials:
                r, why = trial(a.binary, server, root, kind, path, len(got) + len(void))
                if r is None:
                    void.append(why)
                    print(f"  {name}: trial void: {why}", file=sys.stderr)
                else:
                    got.append(r)
                    print(f"  {name} {len(got)}/{a.trials}: "
                          + ", ".join(f"{k} {v:.3f}" for k, v in r.items()
                                      if k != "http_requests"), file=sys.stderr)
            if not got:
                sys.exit(f"{name}: every trial void: {void[:3]}")
            report["results"][name] = {"summary": summary(got), "void": void, "trials": got}
            print(f"{name}:")
            for k, s in report["results"][name]["summary"].items():
                print(f"  {k:24} median {s['median_s']*1000:7.1f} ms   worst "
                      f"{s['worst_s']*1000:7.1f} ms   ({s['n']} trials)")
    finally:
        server.stop()
        if not KEEP:
            shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"written: {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
