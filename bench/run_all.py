"""Run every benchmark in one go and write a JSON and a Markdown report with plots.

    python bench/run_all.py [--quick] [--out bench/results]

Each benchmark runs as its own process (so one cannot warm or starve the
next), against the local stack (`votewire stack up`). Its printed table is
kept verbatim in the report; the JSON holds the machine, versions, settings,
each command line, its exit status, wall time and output. A benchmark that
exits non-zero (the benchmarks check the totals they produce and fail on a
wrong one) makes this command fail, after writing the report.

The scaling section folds synthetic nights of 10^4, 10^5 and 10^6 reports
offline with the pure engine and plots the cost per report against size.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from scaling import measure_scaling, scaling_svg  # noqa: E402

FULL = [
    ("fold", ["bench_fold.py"]),
    ("ingest", ["bench_ingest.py"]),
    ("aggregate", ["bench_aggregate.py"]),
    ("aggregate-2-workers", ["bench_aggregate.py", "--runs", "1", "--workers", "2"]),
    ("stage1-scaling", ["bench_stage1.py", "--runs", "3"]),
    ("aggregate-national", ["bench_aggregate.py", "--runs", "1", "--night", "national",
                            "--takeover", "150000"]),
    ("fanout", ["bench_fanout.py", "--clients", "1000", "5000", "10000"]),
    ("fanout-2-live", ["bench_fanout.py", "--clients", "5000", "--live-processes", "2"]),
    ("replay", ["bench_replay.py", "--million"]),
    ("e2e", ["bench_e2e.py", "--clients", "1000"]),
    ("peer", ["bench_peer.py", "--runs", "3", "--faust"]),
]
NEEDS = {"peer": "quixstreams"}
"""Benchmarks that need an optional package (pip install -e '.[bench]'); skipped, and
reported as skipped, when it is missing."""
QUICK = [
    ("fold", ["bench_fold.py", "--runs", "3"]),
    ("ingest", ["bench_ingest.py", "--runs", "1", "--reports", "2000"]),
    ("aggregate", ["bench_aggregate.py", "--runs", "1", "--seconds", "5"]),
    ("stage1-scaling", ["bench_stage1.py", "--runs", "1", "--sizes", "100,1000,10000"]),
    ("fanout", ["bench_fanout.py", "--clients", "200", "--seconds", "5"]),
    ("replay", ["bench_replay.py", "--runs", "1"]),
    ("e2e", ["bench_e2e.py", "--clients", "200", "--seconds", "4"]),
]


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    import os

    versions = {}
    for dist in (
        "votewire",
        "faust-streaming",
        "aiokafka",
        "redis",
        "starlette",
        "uvicorn",
        "websockets",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "absent"
    pom = (BENCH_DIR.parent / "deploy" / "kafka" / "pom.xml").read_text()
    versions["kafka"] = pom.split("<kafka.version>")[1].split("<")[0]
    redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    versions["redis-server"] = redis_v.stdout.strip().split(" ")[2] if redis_v.stdout else "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
        "versions": versions,
        "settings": {k: v for k, v in os.environ.items() if k.startswith("VOTEWIRE_")},
    }


def run_one(name: str, argv: list[str]) -> dict[str, object]:
    needed = NEEDS.get(name)
    if needed and importlib.util.find_spec(needed) is None:
        print(f"[bench] {name}: skipped, {needed} is not installed", file=sys.stderr)
        return {
            "name": name,
            "command": " ".join(["python", "bench/" + argv[0], *argv[1:]]),
            "exit": 0,
            "wall_s": 0.0,
            "output": f"skipped: {needed} is not installed (pip install -e '.[bench]')",
            "stderr_tail": "",
        }
    cmd = [sys.executable, str(BENCH_DIR / argv[0]), *argv[1:]]
    print(f"[bench] {name}: {' '.join(argv)}", file=sys.stderr, flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    print(proc.stdout, file=sys.stderr)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
    return {
        "name": name,
        "command": " ".join(["python", "bench/" + argv[0], *argv[1:]]),
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "output": proc.stdout,
        "stderr_tail": proc.stderr[-2000:] if proc.returncode else "",
    }


def markdown(report: dict[str, object]) -> str:
    m = report["machine"]
    assert isinstance(m, dict)
    lines = [
        f"# votewire benchmarks, {report['started']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
        f"load before {m['load_before']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
    ]
    for result in report["results"]:  # type: ignore[attr-defined]
        status = "ok" if result["exit"] == 0 else f"FAILED (exit {result['exit']})"
        lines += [
            f"## {result['name']}: {status}, {result['wall_s']} s",
            "",
            f"`{result['command']}`",
            "",
            "```",
            str(result["output"]).rstrip(),
            "```",
            "",
        ]
    lines += [
        "## Scaling: offline fold cost per report",
        "",
        "![scaling](scaling.svg)",
        "",
        "| reports | seconds | µs/report |",
        "| ---: | ---: | ---: |",
    ]
    for row in report["scaling"]:  # type: ignore[attr-defined]
        lines.append(f"| {row['reports']:,} | {row['seconds']:.2f} | {row['us_per_report']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--only", nargs="*", help="names to run (fold ingest aggregate ...)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args()
    plan = [(n, a) for n, a in (QUICK if args.quick else FULL) if not args.only or n in args.only]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / stamp
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"started": stamp, "machine": machine(), "results": []}
    for name, argv in plan:
        report["results"].append(run_one(name, argv))  # type: ignore[attr-defined]
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    report["scaling"] = measure_scaling(sizes)
    (out / "scaling.svg").write_text(scaling_svg(report["scaling"]))  # type: ignore[arg-type]
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / "report.md").write_text(markdown(report))
    print(f"[bench] report: {out / 'report.md'}")
    failed = [r["name"] for r in report["results"] if r["exit"]]  # type: ignore[attr-defined]
    if failed:
        print(f"[bench] FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
