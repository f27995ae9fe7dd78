"""The Python half of compare.sh: MLflow's own client against a tracking URI, each writer for about a time budget.

usage: compare_python.py <target-name> <tracking-uri> <seconds> [writers...]
writers: log_metric (one request per point), async (log_metric(synchronous=False) then flush_async_logging),
         log_batch (MlflowClient.log_batch, 1000 metrics per call). Prints RESULT lines like the .NET half.
"""
import sys
import time

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

target, uri, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
writers = sys.argv[4:] or ["log_metric", "async", "log_batch"]
mlflow.set_tracking_uri(uri)
client = MlflowClient(uri)
experiment_id = client.create_experiment(f"python-compare-{time.time_ns()}")


def report(writer, points, elapsed, note=""):
    print(f"RESULT\t{target}\t{writer}\t{points}\t{elapsed:.3f}\t{note}", flush=True)


def new_run():
    return client.create_run(experiment_id).info.run_id


def log_metric_loop():
    run_id = new_run()
    with mlflow.start_run(run_id=run_id):
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            mlflow.log_metric("train/loss", n * 0.001, step=n)
            n += 1
        report("py-log_metric", n, time.perf_counter() - start)
        return n / (time.perf_counter() - start)


def async_logging(points):
    run_id = new_run()
    with mlflow.start_run(run_id=run_id):
        start = time.perf_counter()
        for n in range(points):
            mlflow.log_metric("train/loss", n * 0.001, step=n, synchronous=False)
        mlflow.flush_async_logging()
        report("py-async", points, time.perf_counter() - start)


def log_batch():
    run_id = new_run()
    start = time.perf_counter()
    n = 0
    ts = int(time.time() * 1000)
    while time.perf_counter() - start < seconds:
        client.log_batch(run_id, metrics=[Metric("train/loss", (n + i) * 0.001, ts + n + i, n + i) for i in range(1000)])
        n += 1000
    report("py-log_batch", n, time.perf_counter() - start)
    return n / (time.perf_counter() - start)


per_point = None
if "log_batch" in writers:
    log_batch()
if "log_metric" in writers:
    per_point = log_metric_loop()
if "async" in writers:
    # Sized from the log_metric loop's rate, so that it runs about the budget: MLflow's async queue sends what has
    # accumulated when its worker is free, which on a busy machine is close to one request per point.
    points = int(max(100, min(200_000, 2 * (per_point or 100) * seconds)))
    async_logging(points)
