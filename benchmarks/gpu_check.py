"""Every GPU check of fcnet in one run, for a machine with an NVIDIA GPU and CuPy; under 5 minutes.

    python benchmarks/gpu_check.py [--json gpu.json] [--quick]

1. Parity with the CPU: the loss history of 2 epochs in float32, for relu/gelu/tanh x
   cross-entropy/MSE x SGD/Adam, within 1e-4 relative; float64 gradients within 1e-10.
2. No host synchronisation per step: a kernel that spins for 200 ms is queued, then 50 training
   steps; the steps must all return to the host before the kernel ends.
3. No allocation per step: a CuPy memory hook counts the allocations of steps 2..50.
4. The gate: a fit whose second step overflows writes nothing from that step on (every
   parameter stays finite, no read back per step) and ends restored to the epoch's start.
5. Speed, 784-256-128-10, plain SGD, samples/s at batch 128, 512, 2,048, 8,192: fcnet, PyTorch
   CUDA eager (TF32 off on both), and the cuBLAS bound of the same GEMMs (CuPy matmul alone).
Prints a table last; ``--json`` writes every figure. A check that raises is reported with its
error and the others still run, so one run on a lent machine gives every figure it can.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from typing import Any

import numpy as np

import fcnet
from fcnet.train import Trainer


def _model(sizes, activation="relu", dtype="float32", device="cpu"):
    last = len(sizes) - 2
    layers = [
        fcnet.Dense(a, b, "identity" if i == last else activation, rng=i, dtype=dtype)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    ]
    return fcnet.Sequential(layers).to(device)


def parity() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2048, 32)).astype(np.float32)
    labels = rng.integers(0, 4, 2048)
    values = rng.normal(size=(2048, 4)).astype(np.float32)
    rows = {}
    for activation in ("relu", "gelu", "tanh"):
        for loss in ("cross_entropy", "mse"):
            for optimizer in ("sgd", "adam"):
                y = labels if loss == "cross_entropy" else values
                options = dict(loss=loss, optimizer=optimizer, epochs=2, batch_size=64, rng=0)
                cpu = _model((32, 64, 4), activation).fit(X, y, **options).history["loss"]
                gpu = _model((32, 64, 4), activation, device="gpu").fit(X, y, **options)
                error = float(np.max(np.abs(np.subtract(gpu.history["loss"], cpu)) / np.abs(cpu)))
                rows[f"{activation}/{loss}/{optimizer}"] = error
    X64 = rng.normal(size=(8, 6))
    y64 = rng.integers(0, 3, 8)
    errors = {}
    for activation in ("relu", "gelu", "tanh"):
        cpu, gpu = (_model((6, 5, 3), activation, "float64", d) for d in ("cpu", "gpu"))
        for model in (cpu, gpu):
            loss = fcnet.losses.SoftmaxCrossEntropy().to(model.ops)
            loss.forward(model.forward(X64), y64)
            model.backward(loss.backward())
        worst = max(
            float(np.max(np.abs(gpu.ops.to_host(g) - cpu.grads()[k])))
            for k, g in gpu.grads().items()
        )
        errors[activation] = worst
    return {"loss_rel_error": rows, "float64_grad_abs_error": errors}


def no_sync_and_no_allocation(cupy) -> dict[str, Any]:
    spin = cupy.RawKernel(
        r"""extern "C" __global__ void spin(long long cycles) {
            long long start = clock64(); while (clock64() - start < cycles) {} }""",
        "spin",
    )
    rate = cupy.cuda.runtime.deviceGetAttribute(cupy.cuda.runtime.cudaDevAttrClockRate, 0)
    cycles = int(0.2 * rate * 1e3)  # 200 ms at the clock rate (kHz)
    returned: list[float] = []
    allocations: list[int] = []

    class Count(cupy.cuda.MemoryHook):
        name = "count"

        def alloc_preprocess(self, **kwargs):
            allocations.append(len(returned))

    original = Trainer._step

    def spy(self, *args):
        out = original(self, *args)
        returned.append(time.perf_counter())
        return out

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50 * 256, 784)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    model = _model((784, 256, 128, 10), device="gpu")
    options = dict(loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=256, rng=0)
    model.fit(X, y, **options)  # compile the kernels, allocate the buffers
    Trainer._step = spy
    try:
        with Count():
            cupy.cuda.Device().synchronize()
            spin((1,), (1,), (np.int64(cycles),))
            started = time.perf_counter()
            model.fit(X, y, **options)
    finally:
        Trainer._step = original
    last_step = returned[-1] - started
    per_step_allocs = sum(1 for k in allocations if k >= 1)
    return {
        "50_steps_returned_after_s": last_step,
        "spin_s": 0.2,
        "no_sync": last_step < 0.2,
        "allocations_in_steps_2_to_50": per_step_allocs,
    }


def gate() -> dict[str, Any]:
    seen: list[bool] = []
    original = Trainer._step

    def spy(self, *args):
        out = original(self, *args)
        params = self.model.params().values()
        seen.append(all(bool(self.model.ops.xp.isfinite(p).all()) for p in params))
        return out

    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.normal(size=(64, 3)).astype(np.float32)
    model = _model((8, 16, 3), device="gpu")
    start = {k: model.ops.to_host(v).copy() for k, v in model.params().items()}
    Trainer._step = spy
    try:
        model.fit(X, y, loss="mse", optimizer="adam", lr=1e30, epochs=1, batch_size=16)
        raised = None
    except fcnet.TrainingDiverged as exc:
        raised = exc.batch
    finally:
        Trainer._step = original
    restored = all(
        np.array_equal(model.ops.to_host(v), start[k]) for k, v in model.params().items()
    )
    return {"diverged_at_batch": raised, "all_steps_finite": all(seen), "restored": restored}


def speed(cupy, torch, batches, samples) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(samples, 784)).astype(np.float32)
    y = rng.integers(0, 10, samples)
    result = {}
    for batch in batches:
        model = _model((784, 256, 128, 10), device="gpu")
        options = dict(loss="cross_entropy", optimizer=fcnet.optimizers.SGD(0.01), epochs=1)
        model.fit(X, y, batch_size=batch, rng=0, **options)
        started = time.perf_counter()
        model.fit(X, y, batch_size=batch, rng=0, **options)
        fcnet_rate = samples / (time.perf_counter() - started)
        torch_rate = _torch_rate(torch, X, y, batch) if torch is not None else None
        bound = _cublas_bound(cupy, batch, samples)
        result[batch] = {"fcnet": fcnet_rate, "torch": torch_rate, "cublas_bound": bound}
    return result


def _torch_rate(torch, X, y, batch) -> float:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    ).cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    Xd, yd = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch() -> None:
        order = torch.randperm(len(Xd), device="cuda")
        for start in range(0, len(Xd), batch):
            rows = order[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xd[rows]), yd[rows]).backward()
            opt.step()
        torch.cuda.synchronize()

    epoch()
    started = time.perf_counter()
    epoch()
    return len(X) / (time.perf_counter() - started)


def _cublas_bound(cupy, batch, samples) -> float:
    shapes = [(784, 256), (256, 128), (128, 10)]
    Ws = [cupy.ones(s, np.float32) for s in shapes]
    A = [cupy.ones((batch, n), np.float32) for n in (784, 256, 128, 10)]
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    steps = max(1, samples // batch)
    start.record()
    for _ in range(steps):
        for i, W in enumerate(Ws):  # forward, dW, dX (no dX for the first layer)
            cupy.matmul(A[i], W, out=A[i + 1])
            cupy.matmul(A[i].T, A[i + 1])
            if i:
                cupy.matmul(A[i + 1], W.T)
    stop.record()
    stop.synchronize()
    return steps * batch / (cupy.cuda.get_elapsed_time(start, stop) / 1e3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--quick", action="store_true", help="batches 128 and 2048, fewer rows")
    args = parser.parse_args(argv)
    try:
        import cupy
    except ImportError:
        print("gpu_check: CuPy is not installed; nothing to check.", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        torch = None
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    figures: dict[str, Any] = {"gpu": name, "cupy": cupy.__version__}
    batches = [128, 2048] if args.quick else [128, 512, 2048, 8192]
    checks = {
        "parity": parity,
        "steps": lambda: no_sync_and_no_allocation(cupy),
        "gate": gate,
        "speed": lambda: speed(cupy, torch, batches, 65536 if args.quick else 262144),
    }
    failed = {}
    for key, check in checks.items():
        try:
            figures[key] = check()
        except Exception:  # report it and go on: the machine is lent for minutes
            failed[key] = figures[f"{key}_error"] = traceback.format_exc()
            print(f"gpu_check: {key} failed:\n{failed[key]}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2, default=str)
    print(f"GPU: {name}, CuPy {cupy.__version__}")
    if failed:
        print(f"failed checks: {', '.join(failed)} (their errors are above)")
    _print_table(figures)
    return 1 if failed else 0


def _print_table(figures: dict[str, Any]) -> None:
    """Each check's figures that are there (a failed check has none)."""
    if "parity" in figures:
        parity = figures["parity"]
        print(
            f"parity: worst loss relative error {max(parity['loss_rel_error'].values()):.2e} "
            f"(target 1e-4); float64 gradients "
            f"{max(parity['float64_grad_abs_error'].values()):.2e} (target 1e-10)"
        )
    if "steps" in figures:
        steps = figures["steps"]
        print(
            f"50 steps returned after {steps['50_steps_returned_after_s'] * 1e3:.1f} ms behind a "
            f"200 ms kernel; allocations in steps 2-50: {steps['allocations_in_steps_2_to_50']}"
        )
    if "gate" in figures:
        print(f"gate: {figures['gate']}")
    if "speed" in figures:
        print(
            f"{'batch':>6} {'fcnet':>12} {'torch':>12} {'cuBLAS bound':>14} {'vs torch':>9} "
            f"{'of bound':>9}"
        )
        for batch, row in figures["speed"].items():
            vs = row["fcnet"] / row["torch"] if row["torch"] else float("nan")
            of_bound = row["fcnet"] / row["cublas_bound"]
            print(
                f"{batch:>6} {row['fcnet']:>12,.0f} {row['torch'] or 0:>12,.0f} "
                f"{row['cublas_bound']:>14,.0f} {vs:>9.2f} {of_bound:>9.2f}"
            )


if __name__ == "__main__":
    sys.exit(main())
