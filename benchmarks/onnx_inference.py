"""Deployment speed: onnxruntime on the exported model against fcnet's own inference and
PyTorch, samples per second at batch 1, 64 and 4,096, all measured in this one process.

Workload: the float32 784-256-128-10 ReLU network of ``mlp.py`` (a classifier), inputs of
random normals. Each contender computes the raw outputs of ``--calls`` batches per timed call:

* ``onnxruntime``: ``fcnet.to_onnx(model)`` (opset 17) in an ``InferenceSession`` on the CPU
  provider, ``intra_op_num_threads`` set to the thread count (graph optimizations at their
  default, all), asked for the ``output`` tensor alone;
* ``fcnet``: ``model.predict_output(X)``;
* ``PyTorch``: ``fcnet.interop.to_torch(model)`` under ``torch.inference_mode()``, with
  ``torch.set_num_threads`` set to the thread count.

Every figure is the median over ``--reps`` rounds in which the contenders take turns, each timed
call starting after ``--settle`` idle seconds (``mlp.round_rates``). Before timing, the three
outputs are checked against each other. The 1-minute load average before and after the run is
printed beside the table: on a shared machine, other processes on the cores move the figures.

    python benchmarks/onnx_inference.py [--quick] [--reps N] [--threads N]

(Not ``onnx.py``: ``ceiling.py`` and this script put this folder on ``sys.path``, where a file
of that name would shadow the onnx package.)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mlp  # noqa: E402  (the sibling script, found through the path above)

import fcnet  # noqa: E402
from fcnet.backend import worker_threads  # noqa: E402

SIZES = (mlp.N_IN, *mlp.HIDDEN, mlp.N_CLASSES)
BATCHES = (1, 64, 4096)
#: samples each timed call computes, per batch size (a whole number of batches)
SAMPLES = {1: 2_000, 64: 32_768, 4096: 65_536}


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo, else what platform says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def contenders(model: fcnet.Sequential, X: np.ndarray, batch: int, threads: int) -> dict:
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        fcnet.to_onnx(model).SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    module = fcnet.interop.to_torch(model)
    blocks = [X[start : start + batch] for start in range(0, len(X), batch)]
    tensors = [torch.from_numpy(block) for block in blocks]

    def run_ort() -> None:
        for block in blocks:
            session.run(["output"], {"input": block})

    def run_fcnet() -> None:
        for block in blocks:
            model.predict_output(block)

    def run_torch() -> None:
        with torch.inference_mode():
            for tensor in tensors:
                module(tensor)

    first = blocks[0]
    expected = model.predict_output(first)
    with torch.inference_mode():
        from_torch = module(tensors[0]).numpy()
    from_ort = session.run(["output"], {"input": first})[0]
    for name, got in (("onnxruntime", from_ort), ("PyTorch", from_torch)):
        error = float(np.abs(got - expected).max())
        if error > 1e-4 * max(1.0, float(np.abs(expected).max())):
            raise SystemExit(f"onnx_inference.py: {name}'s outputs differ from fcnet's by {error}")
    samples = len(blocks) * batch
    return {
        "onnxruntime": (samples, run_ort),
        "fcnet": (samples, run_fcnet),
        "PyTorch": (samples, run_torch),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--settle", type=float, default=mlp.SETTLE_S, help="idle s before a call")
    parser.add_argument("--threads", type=int, default=0, help="threads (0: one per core)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few samples, 2 reps")
    args = parser.parse_args(argv)
    # NumPy's BLAS thread count (one per core), read before torch loads a BLAS of its own
    threads = args.threads or worker_threads()
    import onnxruntime as ort
    import torch

    if args.threads:
        fcnet.set_num_threads(args.threads)
    torch.set_num_threads(threads)
    reps = 2 if args.quick else args.reps
    load_before = _load_average()
    model = mlp.fcnet_model(SIZES)
    model.task = "classification"
    rng = np.random.default_rng(0)
    rows: list[tuple[int, dict[str, float]]] = []
    for batch in BATCHES:
        samples = max(batch, SAMPLES[batch] // (16 if args.quick else 1))
        X = rng.standard_normal((samples - samples % batch, SIZES[0])).astype(np.float32)
        rates = mlp.round_rates(contenders(model, X, batch, threads), reps, args.settle)
        medians = {name: statistics.median(values) for name, values in rates.items()}
        rows.append((batch, medians))
        print(f"batch {batch}: " + ", ".join(f"{k} {v:,.0f}" for k, v in medians.items()))
    print()
    print(
        f"{cpu_name()}, {os.cpu_count()} logical CPUs, {threads} threads; Python "
        f"{platform.python_version()}, NumPy {np.__version__}, onnxruntime {ort.__version__}, "
        f"PyTorch {torch.__version__}; samples/s, median of {reps} rounds; load average "
        f"{load_before} before, {_load_average()} after"
    )
    print()
    print(_table(rows))
    return 0


def _load_average() -> str:
    """The 1-minute load average (other processes sharing the cores), or '-'."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "-"


def _table(rows: list[tuple[int, dict[str, Any]]]) -> str:
    lines = [
        "| batch | onnxruntime | fcnet `predict_output` | PyTorch | onnxruntime / fcnet "
        "| onnxruntime / PyTorch |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for batch, rate in rows:
        ort, ours, torch = rate["onnxruntime"], rate["fcnet"], rate["PyTorch"]
        lines.append(
            f"| {batch:,} | {ort:,.0f} | {ours:,.0f} | {torch:,.0f} | {ort / ours:.2f}x "
            f"| {ort / torch:.2f}x |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
