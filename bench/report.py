#!/usr/bin/env python3
"""Turns the raw JSON lines of every benchmark run into medians.

Usage: report.py RAW.jsonl OUT.md OUT.jsonl

RAW holds one JSON line per run of a workload (several runs per id). For each id, every numeric
figure becomes the median over its runs; null stays null (a figure that does not exist yet) and
text keeps the first run's value. The machine description comes from the environment that
scripts/bench.sh sets. Standard library only.
"""

import json
import os
import statistics
import sys

# The issue #3 targets, by figure. A figure without a target is context for the others.
TARGETS = {
    ("B1", "connections_held"): ">= 19,000 in one process",
    ("B1", "relay_kib_per_connection"): "<= 4 KiB (user space)",
    ("B1", "relay_threads_after"): "independent of connections",
    ("B1", "connects_auth_per_s"): ">= 10,000 /s",
    ("B2", "ratio_to_floor"): ">= 0.6 of the raw floor",
    ("B2", "p99_ms"): "<= 2 ms at half the maximum",
    ("B3", "deliveries_per_s"): ">= 150,000 /s",
    ("B4", "connect_to_last_ack_ms"): "(< 3,000 ms for 100,000)",
    ("B4", "connect_to_last_ack_ms_100k"): "< 3,000 ms for 100,000 (linear estimate)",
    ("B5", "all_authenticated_ms"): "< 2,000 ms for 10,000",
    ("B9", "client_rss_within_bound"): "yes: peak RSS <= Argon2id's 64 MiB + 64 MiB, whatever the count",
    ("B6", "sync_msgs_per_s"): ">= 30,000 /s",
    ("B6", "group_msgs_per_s_full"): ">= 100,000 /s (group commit)",
    ("B6", "group_msgs_per_s_normal"): ">= 100,000 /s (group commit)",
    ("B7", "pairs_per_s_memory"): ">= 30,000 /s",
    ("B7", "pairs_per_s_sqlcipher"): ">= 5,000 /s",
    ("B8", "open_ms_no_kdf"): "< 100 ms",
    ("B8", "open_ms"): "< 100 ms (database; this includes Argon2id)",
    ("B8", "like_scan_ms_1m"): "(FTS target: < 50 ms over 1 M)",
    ("B8", "fts_ms"): "< 50 ms over 1 M",
    ("UI1", "tui_1mib_layout_ms"): "< 2,000 ms (render, /full, Page Up)",
    ("UI1", "ratio_to_target"): "< 1",
    ("UI2", "desktop_heavy_bubbles_ms"): "< 3,000 ms (size and paint of three bubbles)",
    ("UI2", "ratio_to_target"): "< 1",
}


def fmt(value):
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def summarise(lines):
    """{id: [(key, median, low, high), ...]} in the order ids and keys first appear."""
    runs = {}
    for line in lines:
        runs.setdefault(line["id"], []).append(line)
    out = {}
    for wid, objs in runs.items():
        rows = []
        for key in objs[0]:
            if key == "id":
                continue
            values = [o.get(key) for o in objs]
            numbers = [v for v in values if is_number(v)]
            if numbers and len(numbers) == len(values):
                rows.append((key, statistics.median(numbers), min(numbers), max(numbers)))
            elif all(v is None for v in values):
                rows.append((key, None, None, None))
            else:
                rows.append((key, values[0], None, None))
        out[wid] = (len(objs), rows)
    return out


def main():
    raw_path, md_path, jsonl_path = sys.argv[1:4]
    with open(raw_path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    env = os.environ
    machine = {
        "date": env.get("VEIL_BENCH_DATE", ""),
        "nproc": int(env.get("VEIL_BENCH_NPROC", "0")),
        "mem_total_kib": int(env.get("VEIL_BENCH_MEM_KIB", "0")),
        "cpu": env.get("VEIL_BENCH_CPU", ""),
        "commit": env.get("VEIL_BENCH_COMMIT", ""),
        "build": env.get("VEIL_BENCH_BUILD", ""),
        "relay_store": env.get("VEIL_BENCH_STORE", "sqlite"),
    }
    summary = summarise(lines)

    with open(jsonl_path, "w") as f:
        for wid, (count, rows) in summary.items():
            obj = {"id": wid}
            obj.update({key: med for key, med, _, _ in rows})
            obj["runs"] = count
            obj.update(machine)
            f.write(json.dumps(obj) + "\n")

    mem_gib = machine["mem_total_kib"] / (1024 * 1024)
    out = [
        f"# Veil benchmarks, {machine['date']}",
        "",
        f"Machine: {machine['nproc']} cores ({machine['cpu']}), {mem_gib:.1f} GiB "
        f"(MemTotal). Commit {machine['commit']}, build folder {machine['build']}, "
        f"relay store {machine['relay_store']}. "
        f"Medians of the runs shown; all workloads took {env.get('VEIL_BENCH_ELAPSED', '?')} s.",
        "",
        "| id | figure | median | min | max | runs | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for wid, (count, rows) in summary.items():
        for key, med, low, high in rows:
            target = TARGETS.get((wid, key), "")
            low_text = fmt(low) if low is not None else ""
            high_text = fmt(high) if high is not None else ""
            out.append(f"| {wid} | {key} | {fmt(med)} | {low_text} | {high_text} | {count} "
                       f"| {target} |")
    out.append("")
    out.append("B1-B5 run veil-relay on 127.0.0.1 with the load generator on the same cores; B2's "
               "floor_msgs_per_s is the raw-relay floor measured in the same run with the same "
               "generator. null means the figure could not be measured (see the notes on "
               "stderr and bench/README.md).")
    with open(md_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
