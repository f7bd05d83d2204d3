"""Data-parallel training over MPI: samples per second against the number of processes.

For 1, 2 and 4 processes (``mpiexec -n N``, one BLAS thread each; more processes than cores
are oversubscribed) and global batches of 256, 1,024 and 4,096 rows, trains a float32
784-256-128-10 ReLU network with Adam on synthetic data and prints the samples per second of
``fit(..., distributed=True)``, beside one process whose BLAS has as many threads as there
are processes. It also measures one Allreduce of the flat gradient buffer (235,146 float32,
0.94 MB) between the processes of this machine, and prints a cost model of N machines (see
the README's section on data-parallel training).

    python benchmarks/data_parallel.py            # needs mpi4py and mpiexec (pip install mpich)

Timings on a shared machine are noisy: each number is the best of ``--repeats`` runs.

(Not ``distributed.py``: ``ceiling.py`` puts this folder on ``sys.path``, where a file of that
name would shadow the ``distributed`` package that dask imports.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WIDTHS = [784, 256, 128, 10]
PARAMS = sum(a * b + b for a, b in zip(WIDTHS[:-1], WIDTHS[1:], strict=True))


def model(fcnet):
    layers = []
    for i, (a, b) in enumerate(zip(WIDTHS[:-1], WIDTHS[1:], strict=True)):
        last = i == len(WIDTHS) - 2
        layers.append(fcnet.Dense(a, b, activation="identity" if last else "relu", rng=i))
    return fcnet.Sequential(layers)


def data(rows):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, rows)
    centers = rng.normal(size=(10, 784)).astype(np.float32)
    return centers[y] + rng.normal(size=(rows, 784)).astype(np.float32), y


def worker(args) -> None:
    """One process of ``mpiexec``: the best epoch time of data-parallel fits."""
    import fcnet
    from fcnet import distributed as dist

    comm = dist.init()
    X, y = data(args.rows)
    best = np.inf
    for _ in range(args.repeats):
        net = model(fcnet)
        net.fit(
            X[: args.batch * 2],
            y[: args.batch * 2],
            epochs=1,
            batch_size=args.batch,
            distributed=comm,
            rng=0,
        )  # warm up: buffers, BLAS, MPI
        comm.barrier()
        started = time.perf_counter()
        net.fit(X, y, epochs=args.epochs, batch_size=args.batch, distributed=comm, rng=0)
        comm.barrier()
        best = min(best, time.perf_counter() - started)
    flat = np.ones(PARAMS, dtype=np.float32)
    for _ in range(10):
        comm.allreduce(flat)
    comm.barrier()
    started = time.perf_counter()
    for _ in range(200):
        comm.allreduce(flat)
    reduce_s = (time.perf_counter() - started) / 200
    if comm.rank == 0:
        print(json.dumps({"rate": args.rows * args.epochs / best, "allreduce_s": reduce_s}))


def single(args, threads: int) -> float:
    """Samples per second of one process with ``threads`` BLAS threads."""
    import fcnet

    fcnet.set_num_threads(threads)
    X, y = data(args.rows)
    best = np.inf
    for _ in range(args.repeats):
        net = model(fcnet)
        net.fit(X[: args.batch * 2], y[: args.batch * 2], epochs=1, batch_size=args.batch, rng=0)
        started = time.perf_counter()
        net.fit(X, y, epochs=args.epochs, batch_size=args.batch, rng=0)
        best = min(best, time.perf_counter() - started)
    fcnet.set_num_threads(None)
    return args.rows * args.epochs / best


def launch(args, processes: int) -> dict:
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or "mpiexec"
    command = [mpiexec, "-n", str(processes), sys.executable, __file__, "--worker"]
    command += ["--batch", str(args.batch), "--rows", str(args.rows)]
    command += ["--epochs", str(args.epochs), "--repeats", str(args.repeats)]
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


#: (name, bandwidth in bytes/s, latency in s) of the networks in the cost model
NETWORKS = [("10 GbE (TCP)", 1.1e9, 30e-6), ("InfiniBand HDR", 23e9, 2e-6)]


def cost_model(per_sample: dict[int, float]) -> None:
    """Speed-up of N machines: compute of B/N rows against a ring Allreduce of the gradient,
    ``2 (N-1)/N * bytes / bandwidth + 2 (N-1) * latency``; the compute of a row is that
    measured here with one core at global batch B (one process, one BLAS thread)."""
    size = PARAMS * 4
    print(
        f"\ncost model of N machines: a step = B/N rows x (compute per row, one core here, "
        f"measured at batch B) + a ring Allreduce of {size / 1e6:.2f} MB; speed-up over one"
    )
    print("network           B     " + "  ".join(f"N={n:<4}" for n in (2, 4, 8, 16, 32)))
    for name, bandwidth, latency in NETWORKS:
        for batch, t in per_sample.items():
            cells = []
            for n in (2, 4, 8, 16, 32):
                reduce = 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * latency
                cells.append(f"{batch * t / (batch / n * t + reduce):5.1f}x")
            print(f"{name:<16} {batch:<6} " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rows", type=int, default=32768)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--batches", default="256,1024,4096")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    counts = [int(n) for n in args.processes.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    cores = len(os.sched_getaffinity(0))
    print(
        f"{cpu_name()}, {cores} cores; {'-'.join(map(str, WIDTHS))} float32, Adam; "
        f"samples/s, best of {args.repeats} (a shared machine: noisy)"
    )
    print(f"{'batch':>6}  " + "  ".join(f"{f'{n} proc':>9}  {f'1x{n} thr':>9}" for n in counts))
    reduce_s, per_sample = None, {}
    for batch in batches:
        args.batch = batch
        cells = []
        for n in counts:
            result = launch(args, n)
            if n == 2:
                reduce_s = result["allreduce_s"]
            cells.append(f"{result['rate']:>9,.0f}  {single(args, n):>9,.0f}")
            if n == 1:
                per_sample[batch] = 1.0 / result["rate"]
        print(f"{batch:>6}  " + "  ".join(cells), flush=True)
    if reduce_s is not None:
        print(
            f"\nAllreduce of the {PARAMS * 4 / 1e6:.2f} MB gradient, 2 processes here: "
            f"{reduce_s * 1e3:.2f} ms"
        )
    if per_sample:
        cost_model(per_sample)


if __name__ == "__main__":
    main()
