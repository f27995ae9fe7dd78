#!/usr/bin/env bash
# Side-by-side throughput of metric logging, in one invocation, on this machine:
#   real MLflow 3.11 servers (sqlite backend) with 1 worker and with 4 (MLFLOW_SERVER_WORKERS=4, `mlflow server`'s default):
#     Python MLflow: log_metric loop, async logging, log_batch (1000/call);
#     raw HTTP limits: 1000-point log-batch bodies on one connection, on 2 and on 4 in parallel;
#     this library: run.LogMetric loop in 1 run and in 8 concurrent runs;
#   the local store (mlflow.db): Python log_batch vs this library's run.LogMetric;
#   SQLite's own floor: the sqlite3 shell inserting the same number of rows into a copy of that mlflow.db (if sqlite3 is installed);
#   search: Runs.SearchAsync over 50,000 runs, and Runs.GetMetricHistoryAsync over a history of 1,000,000 points, on a
#     1-worker server vs paging runs/search and metrics/get-history with a bare HttpClient
#     (the mlflow.db is made once and cached as $COMPARE_TMP/mlflow-compare-search-<runs>-<points>.db);
#   with COMPARE_SWEEP=1 (default), the fluent run at MaxConcurrentBatches 1, 2, 4, 8 on both servers (each twice, best kept).
# Prints a table of points/s and ratios to the raw limits, the sweep, the search, then the targets of issue 16.
#
# usage: tests/MLOpsDemo.Mlflow.Benchmarks/compare.sh [server-kit]   (default: ../shared/mlflow-server from the repo root)
# env:   COMPARE_SECONDS (budget of each measurement, default 3), COMPARE_PORT (first of three free ports, default 5400),
#        COMPARE_SWEEP (1 = sweep MaxConcurrentBatches, 0 = skip), COMPARE_SEARCH_RUNS (runs to search, default 50000; 0 = skip
#        the search and the history), COMPARE_HISTORY_POINTS (points of the history, default 1000000; 0 = skip the history),
#        COMPARE_TMP (folder for the servers' data and the cached search database, default /tmp)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
kit=$(cd "${1:-$root/../shared/mlflow-server}" && pwd)
seconds=${COMPARE_SECONDS:-3}
port=${COMPARE_PORT:-5400}
sweep=${COMPARE_SWEEP:-1}
search_runs=${COMPARE_SEARCH_RUNS:-50000}
history_points=${COMPARE_HISTORY_POINTS:-1000000}
tmp=${COMPARE_TMP:-/tmp}
work=$(mktemp -d "$tmp/mlflow-compare-XXXXXX")
results="$work/results.tsv"
started=()
cleanup() {
  for d in "${started[@]}"; do "$kit/stop-mlflow.sh" "$d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building the benchmark (Release) ..." >&2
dotnet build -c Release -v q -nologo "$here/MLOpsDemo.Mlflow.Benchmarks.csproj" >&2
bench="$here/bin/Release/net10.0/MLOpsDemo.Mlflow.Benchmarks.dll"

python() { (source "$kit/pyenv.sh" 3 && MLFLOW_DISABLE_TELEMETRY=true /usr/bin/python3 "$here/compare_python.py" "$@"); }

for workers in 1 4; do
  name="${workers}w"
  dir="$work/server-$name"
  echo "starting MLflow 3.11 with $workers worker(s) on port $port ..." >&2
  url=$(MLFLOW_SERVER_WORKERS=$workers "$kit/start-mlflow.sh" "$port" "$dir" 3 | tail -1)
  started+=("$dir")
  python "$name" "$url" "$seconds" | tee -a "$results" >&2
  dotnet "$bench" --compare --seconds "$seconds" $([ "$sweep" = 1 ] && echo --sweep) --server "$name=$url" | tee -a "$results" >&2
  "$kit/stop-mlflow.sh" "$dir" >/dev/null 2>&1 || true
  port=$((port + 1))
done

echo "local store ..." >&2
mkdir -p "$work/python"
python local "sqlite:///$work/python/mlflow.db" "$seconds" log_batch | tee -a "$results" >&2
dotnet "$bench" --compare --seconds "$seconds" --sqlite "$work/dotnet" | tee -a "$results" >&2
if command -v sqlite3 >/dev/null; then
  # SQLite's own floor for the same rows: the sqlite3 shell inserts as many points as the library's measured run, into a
  # copy of the library's mlflow.db (MLflow's schema and indexes, the same earlier runs), with one INSERT ... SELECT from a
  # prepared table and one COMMIT: no client, no binding, no pipeline. Only the INSERT and the COMMIT are timed.
  points=$(awk -F'\t' '$2 == "local" && $3 == "dotnet-1run" { print $4 }' "$results" | tail -1)
  cp "$work/dotnet/mlflow.db" "$work/floor.db"
  sqlite3 "$work/staging.db" "CREATE TABLE s AS WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $points - 1)
    SELECT 'train/loss' AS key, i * 0.001 AS value, 1767225600000 + i / 100 AS timestamp, 'ffffffffffffffffffffffffffffffff' AS run_uuid, i AS step, 0 AS is_nan FROM c;"
  start=$(date +%s%N)
  sqlite3 "$work/floor.db" "PRAGMA cache_size = -32000; ATTACH '$work/staging.db' AS staging; BEGIN IMMEDIATE;
    INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) SELECT key, value, timestamp, run_uuid, step, is_nan FROM staging.s; COMMIT;"
  end=$(date +%s%N)
  printf 'RESULT\tlocal\tsqlite3-shell\t%s\t%s\t\n' "$points" "$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')" | tee -a "$results" >&2
  rm -f "$work/floor.db" "$work/staging.db"
fi

if [ "$search_runs" -gt 0 ]; then
  cache="$tmp/mlflow-compare-search-$search_runs-$history_points.db"
  if [ ! -f "$cache" ]; then
    echo "making $cache ($search_runs runs and a history of $history_points points, once) ..." >&2
    rm -f "$cache.tmp"
    dotnet "$bench" --compare --make-search-db "$cache.tmp" "$search_runs" "$history_points" && mv "$cache.tmp" "$cache"
  fi
  dir="$work/server-search"
  mkdir -p "$dir" && cp "$cache" "$dir/mlflow.db"
  echo "search: MLflow 3.11, 1 worker, on a copy of $cache (port $port) ..." >&2
  url=$(MLFLOW_SERVER_WORKERS=1 "$kit/start-mlflow.sh" "$port" "$dir" 3 | tail -1)
  started+=("$dir")
  dotnet "$bench" --compare --search "1w=$url" | tee -a "$results" >&2
  "$kit/stop-mlflow.sh" "$dir" >/dev/null 2>&1 || true
fi

/usr/bin/python3 - "$results" "$(nproc)" <<'EOF'
import sys
rows = {}
searches = {}
for line in open(sys.argv[1]):
    if line.startswith("SEARCH\t"):
        _, target, writer, runs, secs, allocated, peak = line.rstrip("\n").split("\t")[:7]
        searches[writer] = (int(runs), float(secs), int(allocated), int(peak))
        continue
    if not line.startswith("RESULT\t"):
        continue
    _, target, writer, points, secs, note = (line.rstrip("\n").split("\t") + [""])[:6]
    rate_now = int(points) / float(secs)
    if (target, writer) in rows and rows[(target, writer)][0] >= rate_now:
        continue  # a writer measured twice (the sweep): the best pass counts
    rows[(target, writer)] = (rate_now, int(points), note)

def rate(t, w):
    return rows.get((t, w), (None,))[0]

def best_parallel(t):
    return max((r for r in (rate(t, "raw-2conn"), rate(t, "raw-4conn")) if r), default=None)

labels = [
    ("py-log_metric", "Python mlflow.log_metric loop"),
    ("py-async", "Python log_metric(synchronous=False)"),
    ("py-log_batch", "Python MlflowClient.log_batch (1000/call)"),
    ("raw-1conn", "raw HTTP, 1000-point bodies, 1 connection"),
    ("raw-2conn", "raw HTTP, 2 connections in parallel"),
    ("raw-4conn", "raw HTTP, 4 connections in parallel"),
    ("dotnet-1run", "this library, run.LogMetric, 1 run"),
    ("dotnet-8runs", "this library, run.LogMetric, 8 runs at once"),
]
fmt = lambda r: "—" if r is None else f"{r:,.0f}"
ratio = lambda a, b: "—" if a is None or not b else f"{a / b:.2f}×"
print(f"Measured on this machine ({sys.argv[2]} cores), real MLflow 3.11 server (sqlite backend); points/s; ratios to the raw limits of the same server.")
print()
print("| writer | 1 worker | ÷ raw 1 conn | 4 workers | ÷ raw 1 conn | ÷ best raw parallel |")
print("|---|---:|---:|---:|---:|---:|")
for key, label in labels:
    a, b = rate("1w", key), rate("4w", key)
    print(f"| {label} | {fmt(a)} | {ratio(a, rate('1w', 'raw-1conn'))} | {fmt(b)} | {ratio(b, rate('4w', 'raw-1conn'))} | {ratio(b, best_parallel('4w'))} |")
print()
print("| local store (mlflow.db) | points/s |")
print("|---|---:|")
print(f"| Python MlflowClient.log_batch (1000/call) | {fmt(rate('local', 'py-log_batch'))} |")
print(f"| this library, run.LogMetric | {fmt(rate('local', 'dotnet-1run'))} |")
if rate('local', 'sqlite3-shell'):
    print(f"| SQLite itself: sqlite3 shell, one INSERT … SELECT of as many rows, no client | {fmt(rate('local', 'sqlite3-shell'))} |")
print()
if any(w.startswith("sweep-") for (_, w) in rows):
    print("| MaxConcurrentBatches (1 run, best of 2) | 1 worker | ÷ raw 1 conn | 4 workers | ÷ raw 1 conn |")
    print("|---|---:|---:|---:|---:|")
    for c in (1, 2, 4, 8):
        a, b = rate("1w", f"sweep-{c}"), rate("4w", f"sweep-{c}")
        print(f"| {c} | {fmt(a)} | {ratio(a, rate('1w', 'raw-1conn'))} | {fmt(b)} | {ratio(b, rate('4w', 'raw-1conn'))} |")
    print()
def read_table(title, unit, writers):
    if not any(w in searches for w, _ in writers):
        return
    mib = lambda b: f"{b / 1048576:,.1f} MiB"
    print(f"| {title} | {unit} | seconds | {unit}/s | allocated | peak managed heap |")
    print("|---|---:|---:|---:|---:|---:|")
    for w, label in writers:
        if w in searches:
            n, secs, alloc, peak = searches[w]
            print(f"| {label} | {n:,} | {secs:.1f} | {n / secs:,.0f} | {mib(alloc)} | {mib(peak)} |")
    print()
read_table("search, 1-worker server, pages of 1000", "runs", (("dotnet-search", "this library, Runs.SearchAsync"), ("raw-search", "bare HttpClient + JsonDocument")))
read_table("metric history, 1-worker server, pages of 25,000", "points", (("dotnet-history", "this library, Runs.GetMetricHistoryAsync"), ("raw-history", "bare HttpClient + JsonDocument")))
for t in ("1w", "4w"):
    if (t, "dotnet-8runs") in rows and rows[(t, "dotnet-8runs")][2]:
        print(f"8 runs on {t}: {rows[(t, 'dotnet-8runs')][2]}")
print()
checks = [
    ("fluent ≥ 1.6× raw 1 connection, 4 workers", rate("4w", "dotnet-1run"), rate("4w", "raw-1conn"), 1.6),
    ("fluent ≥ 0.9× raw 1 connection, 1 worker", rate("1w", "dotnet-1run"), rate("1w", "raw-1conn"), 0.9),
    ("fluent ≥ 2× Python log_batch, 1 worker", rate("1w", "dotnet-1run"), rate("1w", "py-log_batch"), 2.0),
    ("fluent ≥ 2× Python log_batch, 4 workers", rate("4w", "dotnet-1run"), rate("4w", "py-log_batch"), 2.0),
    ("8 runs ≥ 1 run, 4 workers", rate("4w", "dotnet-8runs"), rate("4w", "dotnet-1run"), 1.0),
]
for label, a, b, target in checks:
    if a is None or not b:
        print(f"- {label}: not measured")
    else:
        print(f"- {label}: {a / b:.2f}× {'met' if a / b >= target else 'NOT met'}")
local = rate("local", "dotnet-1run")
floor = rate("local", "sqlite3-shell")
print(f"- local store ≥ 400,000 points/s: {fmt(local)} {'met' if local and local >= 400_000 else 'NOT met'}"
      + (f" (SQLite's own floor for these rows here: {fmt(floor)}; the library reaches {local / floor:.2f}× of it)" if floor and local else ""))
if "dotnet-search" in searches and "raw-search" in searches:
    lib, raw = searches["dotnet-search"], searches["raw-search"]
    t = lib[1] / raw[1]
    print(f"- search time ≤ 1.2× bare HttpClient: {t:.2f}× {'met' if t <= 1.2 else 'NOT met'}")
    # Flat: the peak heap is that of a few pages, far below what all the runs would need at once (the allocated total).
    flat = lib[3] <= max(4 * raw[3], 64 * 1048576) and lib[3] * 4 <= lib[2]
    print(f"- search memory flat (peak heap {lib[3] / 1048576:,.1f} MiB while {lib[2] / 1048576:,.0f} MiB passed through; bare client peak {raw[3] / 1048576:,.1f} MiB): {'met' if flat else 'NOT met'}")
else:
    print("- search: not measured")
if "dotnet-history" in searches and "raw-history" in searches:
    lib, raw = searches["dotnet-history"], searches["raw-history"]
    flat = lib[3] <= max(4 * raw[3], 64 * 1048576) and lib[3] * 4 <= lib[2]
    print(f"- metric history of {lib[0]:,} points: {lib[1] / raw[1]:.2f}× the bare client's time; memory flat (peak heap {lib[3] / 1048576:,.1f} MiB while {lib[2] / 1048576:,.0f} MiB passed through; bare client peak {raw[3] / 1048576:,.1f} MiB): {'met' if flat else 'NOT met'}")
EOF
