"""Writes the corpus's base run, tests/corpus/_base/, and the few overlay files
that are the base's own data re-encoded (unsorted rows, mixed time zones).

Deterministic (a fixed LCG, no numpy); run again only to change the base:

    python3 tests/corpus/make_base.py

The base is a small, complete, APPROVED_FOR_LIMITED_PROD run: every phase done,
the DDL succeeded, five kill switch checks OFF, the index verified, all 17
file-fed metrics recorded (13 series, 2 raw latency distributions) from the
baseline's start to the after phase's end, none beyond a bound.
"""
import json
import pathlib
import random

HERE = pathlib.Path(__file__).resolve().parent
BASE = HERE / "_base"

T0 = 1795201200  # 2026-11-20T19:00:00Z, plan.start
START = T0 + 45 * 60  # baseline phase start, 19:45:00
DDL_START = T0 + 50 * 60 + 1.5  # 19:50:01.5
DDL_END = T0 + 54 * 60 + 30  # 19:54:30
END = T0 + 70 * 60  # 20:10:00, after phase end (+0.5 s)
SERIES_STEP = 15
RAW_STEP = 5

rng = random.Random(20261120)


def iso(t, offset_min=0):
    """RFC 3339 with milliseconds, in the given offset (minutes east of UTC)."""
    import datetime as dt

    tz = dt.timezone(dt.timedelta(minutes=offset_min))
    d = dt.datetime.fromtimestamp(t, tz)
    s = d.isoformat(timespec="milliseconds")
    return s.replace("+00:00", "Z")


def during(t):
    return DDL_START <= t < DDL_END


def noise(scale):
    return (rng.random() - 0.5) * 2 * scale


def series_value(metric, t):
    d = during(t)
    return {
        "cpu_usage_pct": (34.0 if d else 21.0) + noise(2.0),
        "memory_usage_pct": 61.0 + noise(0.8),
        "disk_read_mb_s": (14.0 if d else 8.0) + noise(1.0),
        "disk_write_mb_s": (38.0 if d else 9.0) + noise(2.0),
        "network_latency_ms": 0.8 + noise(0.1),
        "active_connections": round(120 + noise(6)),
        "lock_wait_time_s": 0.01 + noise(0.004),
        "table_locks_waited": round(rng.random() * 1.2),
        "replication_lag_s": (0.8 if d else 0.2) + noise(0.1),
        "buffer_pool_hit_rate_pct": (99.1 if d else 99.6) + noise(0.1),
        "threads_running": round((7 if d else 4) + noise(1)),
        "error_rate_pct": 0.02 + noise(0.01),
        "throughput_rps": (880.0 if d else 905.0) + noise(8.0),
    }[metric]


def fmt(v):
    if isinstance(v, int):
        return str(v)
    return f"{v:.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:.1f}"


def series_times():
    t = START
    while t <= END:
        yield t
        t += SERIES_STEP


# A repeating latency pattern: every whole number of cycles has the same
# percentiles, so baseline and post agree; the DDL adds a little.
QUERY = [2.1, 2.4, 2.8, 3.0, 2.6, 2.2, 3.4, 2.9, 2.5, 2.7, 3.1, 4.0]
REQUEST = [22.0, 25.5, 31.0, 27.5, 24.0, 29.0, 35.0, 26.0, 23.5, 28.0, 30.5, 41.0]


def raw_rows(pattern, phase_shift):
    rows = []
    t = START + phase_shift
    i = 0
    while t <= END:
        v = pattern[i % len(pattern)] * (1.15 if during(t) else 1.0)
        rows.append((t, v))
        t += RAW_STEP
        i += 1
    return rows


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main():
    # --- metrics ---
    cpu = [[t, fmt(series_value("cpu_usage_pct", t))] for t in series_times()]
    write(
        BASE / "metrics/cpu_usage_pct.json",
        json.dumps(
            {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {
                            "metric": {"__name__": "cpu_usage_pct", "instance": "db-1:9100"},
                            "values": cpu,
                        }
                    ],
                },
            },
            separators=(",", ":"),
        )
        + "\n",
    )
    system = ["timestamp,metric,value,instance"]
    for t in series_times():
        for m in ["memory_usage_pct", "disk_read_mb_s", "disk_write_mb_s", "network_latency_ms"]:
            system.append(f"{iso(t)},{m},{fmt(series_value(m, t))},db-1:9100")
    write(BASE / "metrics/system.csv", "\n".join(system) + "\n")

    mysql_metrics = [
        "active_connections",
        "lock_wait_time_s",
        "table_locks_waited",
        "replication_lag_s",
        "buffer_pool_hit_rate_pct",
        "threads_running",
    ]
    mysql = []
    for t in series_times():
        for m in mysql_metrics:
            mysql.append((t, m, fmt(series_value(m, t))))
    write(
        BASE / "metrics/mysql.csv",
        "timestamp,metric,value\n" + "".join(f"{iso(t)},{m},{v}\n" for t, m, v in mysql),
    )
    app = ["timestamp,metric,value,service"]
    for t in series_times():
        for m in ["error_rate_pct", "throughput_rps"]:
            app.append(f"{t},{m},{fmt(series_value(m, t))},order-api")
    write(BASE / "metrics/app.csv", "\n".join(app) + "\n")
    latency = ["timestamp,metric,value"]
    for t, v in raw_rows(QUERY, 0.25):
        latency.append(f"{iso(t)},query_latency_ms,{fmt(v)}")
    for t, v in raw_rows(REQUEST, 1.75):
        latency.append(f"{iso(t)},request_latency_ms,{fmt(v)}")
    write(BASE / "metrics/latency.csv", "\n".join(latency) + "\n")

    # --- overlays made of the base's own rows ---
    # The same samples, rows shuffled: must give the same numbers.
    shuffled = list(mysql)
    random.Random(7).shuffle(shuffled)
    write(
        HERE / "csv-unsorted-rows/run/metrics/mysql.csv",
        "timestamp,metric,value\n" + "".join(f"{iso(t)},{m},{v}\n" for t, m, v in shuffled),
    )
    # The same samples, each timestamp in another form: must give the same numbers.
    forms = [
        lambda t: iso(t, 0),
        lambda t: iso(t, 7 * 60),
        lambda t: iso(t, -(5 * 60 + 30)),
        lambda t: iso(t, 14 * 60),
        lambda t: iso(t, -12 * 60),
        lambda t: str(int(t)),
        lambda t: f"{t:.3f}",
    ]
    mixed = "".join(f"{forms[i % len(forms)](t)},{m},{v}\n" for i, (t, m, v) in enumerate(mysql))
    write(HERE / "csv-mixed-timezones/run/metrics/mysql.csv", "timestamp,metric,value\n" + mixed)

    # --- events ---
    def ev(t, kind, **fields):
        return json.dumps({"ts": iso(t), "type": kind, **fields}, separators=(",", ":"))

    def ks(t, checkpoint, ms):
        return ev(t, "kill_switch_check", checkpoint=checkpoint, global_="off", connection="off",
                  response_ms=ms).replace('"global_"', '"global"')

    m = lambda minutes: T0 + minutes * 60  # noqa: E731
    events = [
        ev(m(0) + 0.1, "log", level="INFO", message="Starting canary run CORPUS-BASE-001"),
        ev(m(0) + 0.2, "phase_start", phase="precheck"),
        ev(m(29), "phase_end", phase="precheck", status="done"),
        ev(m(30), "phase_start", phase="readiness"),
        ev(m(44), "phase_end", phase="readiness", status="done"),
        ev(m(45), "phase_start", phase="baseline"),
        ev(m(50), "phase_end", phase="baseline", status="done"),
        ks(m(50) + 0.5, "Pre-execution", 48.2),
        ev(m(50) + 1, "phase_start", phase="execute"),
        ev(DDL_START, "ddl_start",
           statement="ALTER TABLE shop.orders ADD INDEX idx_orders_customer_created "
                     "(customer_id, created_at), ALGORITHM=INPLACE, LOCK=NONE"),
        ev(DDL_END, "ddl_end", outcome="success", duration_s=268.5),
        ev(DDL_END + 0.1, "phase_end", phase="execute", status="done"),
        ks(DDL_END + 0.5, "Post-ADD INDEX", 51.0),
        ev(DDL_END + 1, "phase_start", phase="verification"),
        ev(DDL_END + 2, "verification", index_exists=True, columns=["customer_id", "created_at"],
           index_type="BTREE", explain_type="ref", explain_key="idx_orders_customer_created",
           explain_query="SELECT * FROM shop.orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 20"),
        ev(DDL_END + 10, "app_check", check="Application responds normally",
           actual="order-api /healthz 200 OK", passed=True),
        ev(DDL_END + 28, "phase_end", phase="verification", status="done"),
        ev(m(55), "phase_start", phase="monitoring"),
        ks(m(60), "During Monitoring (T+5m)", 44.9),
        ev(m(65), "phase_end", phase="monitoring", status="done"),
        ev(m(65) + 0.5, "phase_start", phase="after"),
        ks(m(70), "Final Check", 39.5),
        ev(m(70) + 0.5, "phase_end", phase="after", status="done"),
        ev(m(70) + 2, "phase_start", phase="analysis"),
        ev(m(72), "phase_end", phase="analysis", status="done"),
        ev(m(72) + 0.2, "run_end", status="completed"),
    ]
    # The kill switch check at m(70) comes before the after phase's end: keep the log in order.
    events.sort(key=lambda line: json.loads(line)["ts"])
    write(BASE / "events.jsonl", "\n".join(events) + "\n")

    manifest = {
        "run_id": "CORPUS-BASE-001",
        "scope": {
            "actual": {
                "tenant": "tenant-0001",
                "connection": "mysql-t1-primary-01",
                "database": "shop",
                "table": "orders",
                "operation": "ADD_INDEX",
            }
        },
        "target": {
            "engine": "InnoDB",
            "index_name": "idx_orders_customer_created",
            "columns": ["customer_id", "created_at"],
        },
        "plan": {"start": iso(T0)},
        "display_timezone": "+07:00",
        "max_connections": 500,
    }
    write(BASE / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {BASE}")


if __name__ == "__main__":
    main()
