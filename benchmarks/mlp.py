"""MLP training and inference throughput: fcnet against PyTorch eager, JAX, scikit-learn, the GEMM
bound and the FLOP floor, all measured in this one process, one run.

Workload (the defaults): float32, 784-256-128-10 ReLU network, softmax cross-entropy, plain SGD,
16,384 samples per epoch, batch 32 / 128 / 1024; inference on 65,536 samples in chunks of 4,096;
and a small 20-64-64-2 network trained with Adam at batch 32.

* fcnet runs through its public ``fit`` (one epoch per call) and ``predict``.
* PyTorch eager (when installed) trains the same network with the same optimizer, with
  ``torch.set_num_threads`` set to the thread count fcnet's BLAS uses.
* JAX (when installed) trains the same network with the whole step jitted (gather, forward,
  loss, gradients, update: one call a step), the data on its device (the CPU) and the batch's
  rows gathered inside the jitted step; it predicts with a jitted forward and argmax per chunk.
* scikit-learn's MLPClassifier (when installed) trains one epoch (``max_iter=1``).
* A bare NumPy loop (:func:`numpy_train`, SGD workloads) trains the same network with every
  buffer preallocated and no checks: how fast NumPy alone runs the step, with the BLAS threads
  fcnet's rule gives.
* The GEMM bound times NumPy matrix products alone at the same shapes and the same count as a
  training step (forward 3, backward 3 dW + 2 dX; inference: forward 3, reading the inputs from
  X block after block), with 1 BLAS thread and with the default; the better of the two is the
  bound. fcnet predicts in blocks of at most ``fcnet._inference._INFERENCE_ROWS`` rows (512), so
  for inference the products in blocks of that size are timed too, and the best of the three is
  the bound.
* The FLOP floor is the physical limit: the floating-point operations of an epoch (2 per
  multiply-add of every product above) at the machine's peak sgemm rate, the best of a few
  4,096 x 4,096 products timed with the default BLAS threads. No implementation of this step
  can run faster than the floor; the GEMM bound is what the BLAS reaches at the step's shapes.

The CPU (its model name in /proc/cpuinfo) and the BLAS kernels NumPy ran (threadpoolctl's
``internal_api``, ``architecture``, ``version`` and threads) are printed and kept in the JSON.

Every figure is the median over ``--reps`` repetitions after a warm-up, in samples per second;
each timed call starts after ``--settle`` idle seconds (0.3), so that no contender shares the
cores with the threads the previous one left spinning. Beside each ratio to a peer is its range
over the rounds (fcnet and the peer timed one after the other): the spread the noise of a shared
machine gives it. The JSON keeps every round's figures.
``--json PATH`` writes them; ``--quick`` is a fast smoke run on tiny sizes. With ``--both``, when
OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE is set, a child process repeats the run with both unset.
``--no-jax`` and ``--no-torch`` leave those peers out.

    python benchmarks/mlp.py [--quick] [--json PATH] [--both]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import fcnet
from fcnet._inference import _INFERENCE_ROWS as INFERENCE_ROWS
from fcnet._ops import default_ops
from fcnet.backend import blas_threads, blas_threads_for, worker_threads

HIDDEN = (256, 128)
N_IN, N_CLASSES = 784, 10
SMALL = (20, 64, 64, 2)


#: Seconds of idle time before each timed call. Thread pools spin for a while after their last
#: task (OpenBLAS's workers about 0.1 s by default, OpenMP's for its block time); without a pause
#: the contender timed next would share the cores with the previous one's spinning threads.
SETTLE_S = 0.3


def round_rates(
    runs: dict[str, tuple[int, Callable[[], Any]]], reps: int, settle: float = SETTLE_S
) -> dict[str, list[float]]:
    """Samples/s of each ``name: (samples, run)`` in each of ``reps`` rounds, after one warm-up
    call each.

    The contenders take turns, one call each per round, so that a change in the machine's load
    (it is shared) affects them alike and the ratios stay fair; each timed call starts after
    ``settle`` idle seconds.
    """
    for _, run in runs.values():
        run()
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, (samples, run) in runs.items():
            time.sleep(settle)
            start = time.perf_counter()
            run()
            rates[name].append(samples / (time.perf_counter() - start))
    return rates


def median_rates(
    runs: dict[str, tuple[int, Callable[[], Any]]], reps: int, settle: float = SETTLE_S
) -> dict[str, float]:
    """The median of :func:`round_rates` for each contender."""
    return {name: statistics.median(v) for name, v in round_rates(runs, reps, settle).items()}


# --- the contenders ----------------------------------------------------------------------------
def fcnet_model(sizes: tuple[int, ...]) -> fcnet.Sequential:
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(fcnet.Dense(n_in, n_out, "identity" if last else "relu", rng=i))
    return fcnet.Sequential(layers)


def fcnet_train(X, y, sizes, batch, optimizer):
    model = fcnet_model(sizes)

    def epoch() -> None:
        model.fit(
            X, y, loss="cross_entropy", optimizer=optimizer(), epochs=1, batch_size=batch, rng=0
        )

    return len(X), epoch


def fcnet_predict(X, sizes, chunk):
    model = fcnet_model(sizes)
    model.task = "classification"
    return len(X), lambda: model.predict(X, batch_size=chunk)


def torch_net(torch, sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_train(torch, X, y, sizes, batch, optimizer):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    net = torch_net(torch, sizes)
    opt = optimizer(net.parameters())
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)

    def epoch() -> None:
        order = torch.randperm(len(Xt), generator=generator)
        for start in range(0, len(Xt), batch):
            idx = order[start : start + batch]
            loss = loss_fn(net(Xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return len(X), epoch


def torch_predict(torch, X, sizes, chunk):
    Xt = torch.from_numpy(X)
    net = torch_net(torch, sizes)

    def run() -> None:
        with torch.inference_mode():
            for start in range(0, len(Xt), chunk):
                net(Xt[start : start + chunk]).argmax(dim=1)

    return len(X), run


def import_jax():
    """JAX on the CPU, or None when it is not installed."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    return jax


def jax_params(jax, sizes):
    """Glorot-uniform weights and zero biases, float32, on JAX's device."""
    rng = np.random.default_rng(0)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        limit = np.sqrt(6.0 / (a + b))
        W = rng.uniform(-limit, limit, (a, b)).astype(np.float32)
        params.append((jax.device_put(W), jax.device_put(np.zeros(b, np.float32))))
    return params


def jax_forward(jax, params, X):
    """The logits of the ReLU network ``params`` for X (m, n_in)."""
    A = X
    for i, (W, b) in enumerate(params):
        A = A @ W + b
        if i < len(params) - 1:
            A = jax.nn.relu(A)
    return A


def jax_train(jax, X, y, sizes, batch, optimizer):
    """One epoch of full batches, the whole step one jitted call: the rows ``order[start :
    start + batch]`` gathered from X and y on the device, softmax cross-entropy, its gradients
    by ``jax.value_and_grad``, and the update (``optimizer``: "sgd" with lr 0.01, or "adam"
    with lr 1e-3 and torch's defaults), the parameters' buffers donated to the next step."""
    jnp, lax = jax.numpy, jax.lax
    Xd, yd = jax.device_put(X), jax.device_put(np.asarray(y, np.int32))
    params = jax_params(jax, sizes)
    state = ()
    if optimizer == "adam":  # two trees of zeros (a donated buffer must not appear twice)
        m, v = (jax.tree_util.tree_map(jnp.zeros_like, params) for _ in range(2))
        state = (m, v, jnp.float32(0.0))
    b1, b2, eps = 0.9, 0.999, 1e-8

    def loss(params, Xb, yb):
        logp = jax.nn.log_softmax(jax_forward(jax, params, Xb))
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    def step(params, state, order, start):
        rows = lax.dynamic_slice(order, (start,), (batch,))
        value, grads = jax.value_and_grad(loss)(params, Xd[rows], yd[rows])
        if optimizer != "adam":
            return jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, params, grads), state, value
        m, v, t = state
        t = t + 1.0
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        scale, root = 1e-3 / (1 - b1**t), jnp.sqrt(1 - b2**t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - scale * m / (jnp.sqrt(v) / root + eps), params, m, v
        )
        return params, (m, v, t), value

    step = jax.jit(step, donate_argnums=(0, 1))
    rng = np.random.default_rng(0)
    held = {"params": params, "state": state}

    def epoch() -> None:
        order = jax.device_put(rng.permutation(len(X)).astype(np.int32))
        params, state = held["params"], held["state"]
        for start in range(0, len(X) - batch + 1, batch):
            params, state, _ = step(params, state, order, start)
        jax.block_until_ready(params)
        held.update(params=params, state=state)

    return (len(X) // batch) * batch, epoch


def jax_predict(jax, X, sizes, chunk):
    """Labels of X chunk by chunk, each chunk's forward and argmax one jitted call on the data
    already on the device."""
    jnp, lax = jax.numpy, jax.lax
    Xd = jax.device_put(X)
    params = jax_params(jax, sizes)

    @jax.jit
    def labels(params, start):
        block = lax.dynamic_slice_in_dim(Xd, start, chunk)
        return jnp.argmax(jax_forward(jax, params, block), axis=1)

    def run() -> None:
        jax.block_until_ready([labels(params, s) for s in range(0, len(X) - chunk + 1, chunk)])

    return (len(X) // chunk) * chunk, run


def initial_params(sizes, rng):
    """He-scaled normal weights (float32) and zero biases for the layer widths ``sizes``, drawn
    from ``rng``: where the NumPy loops of the benchmarks start."""
    Ws = [
        (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    return Ws, [np.zeros(b, np.float32) for b in sizes[1:]]


class SoftmaxCrossEntropy:
    """Softmax cross-entropy of ``m`` rows of ``k`` logits with integer labels, with log-sum-exp,
    computed on the (k, m) transpose (reductions along a length-k last axis are slow) in buffers
    made once."""

    def __init__(self, m: int, k: int) -> None:
        self.S = np.empty((k, m), np.float32)
        self.col = np.empty((1, m), np.float32)
        self.flat = np.empty(m, np.intp)
        self.picked = np.empty(m, np.float32)
        self.at_label = np.empty(m, np.float32)
        self.arange = np.arange(m)

    def __call__(self, A: np.ndarray, y: np.ndarray, dZ: np.ndarray, scale: float) -> float:
        """The sum over the rows of the losses of the logits A (m, k) and labels y (m,); writes
        ``(P - Y) * scale`` into dZ (m, k)."""
        S, col, flat = self.S, self.col, self.flat
        np.copyto(S, A.T)
        np.maximum.reduce(S, axis=0, keepdims=True, out=col)
        np.subtract(S, col, out=S)
        np.multiply(y, S.shape[1], out=flat)
        np.add(flat, self.arange, out=flat)  # flat positions of (y_i, i) in S
        S.take(flat, out=self.picked, mode="clip")
        np.exp(S, out=S)
        np.add.reduce(S, axis=0, keepdims=True, out=col)
        np.divide(S, col, out=S)  # P
        np.log(col, out=col)
        total = float(col.sum() - self.picked.sum())
        S.take(flat, out=self.at_label, mode="clip")
        np.subtract(self.at_label, 1.0, out=self.at_label)
        S.put(flat, self.at_label, mode="clip")  # P - Y
        np.multiply(S, scale, out=S)
        np.copyto(dZ, S.T)
        return total


def forward_relu(A, Ws, bs, Zs, masks, zeros):
    """Forward through the layers ``(Ws, bs)``: Z = A W + b into ``Zs``, and for every layer but
    the last f(Z) = max(Z, 0) in place with f'(Z) (1.0 / 0.0) into ``masks`` (``zeros``: arrays
    of zeros of Z's shapes). Returns the logits, ``Zs[-1]``."""
    depth = len(Ws)
    for i in range(depth):
        np.matmul(A, Ws[i], out=Zs[i])
        Zs[i] += bs[i]
        if i < depth - 1:
            np.greater(Zs[i], 0, out=masks[i])
            np.maximum(Zs[i], zeros[i], out=Zs[i])
        A = Zs[i]
    return A


def numpy_train(X, y, sizes, batch, lr=0.01):
    """The same training written as a bare NumPy loop: no layers, no checks, every buffer made
    once, every product and element-wise pass into it (``out=``), plain SGD as
    ``W -= lr * dW`` through a scratch array. It shows how fast NumPy alone runs this step, and
    so how much of the gap to the GEMM bound is NumPy's and how much is fcnet's.

    Returns ``(samples, epoch)``; ``epoch()`` trains one epoch of full batches (a last, partial
    one is left out; ``samples`` counts the rows trained on) and returns its mean loss, and
    ``epoch.params`` is ``(Ws, bs)``, the parameters it updates in place.
    """
    rng = np.random.default_rng(0)
    depth = len(sizes) - 1
    Ws, bs = initial_params(sizes, rng)
    Xb = np.empty((batch, sizes[0]), np.float32)
    yb = np.empty(batch, np.intp)
    Zs = [np.empty((batch, b), np.float32) for b in sizes[1:]]  # Z, then f(Z) in place
    masks = [np.empty((batch, b), np.float32) for b in sizes[1:]]  # f'(Z) as 1.0 / 0.0
    dZs = [np.empty((batch, b), np.float32) for b in sizes[1:]]
    dWs = [np.empty_like(W) for W in Ws]
    steps_W = [np.empty_like(W) for W in Ws]
    dbs = [np.empty_like(b) for b in bs]
    steps_b = [np.empty_like(b) for b in bs]
    zeros = [np.zeros((batch, b), np.float32) for b in sizes[1:]]
    ones = np.ones(batch, np.float32)
    loss = SoftmaxCrossEntropy(batch, sizes[-1])
    y = np.asarray(y, np.intp)
    threads = blas_threads_for(batch * max(W.size for W in Ws))  # fcnet's rule

    def epoch() -> float:
        with blas_threads(threads):
            return steps()

    def steps() -> float:
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X) - batch + 1, batch):
            idx = order[start : start + batch]
            X.take(idx, axis=0, out=Xb, mode="clip")
            y.take(idx, out=yb, mode="clip")
            logits = forward_relu(Xb, Ws, bs, Zs, masks, zeros)
            total += loss(logits, yb, dZs[-1], 1.0 / batch) / batch
            dZ = dZs[-1]
            for i in range(depth - 1, -1, -1):  # backward, then the update
                A_prev = Xb if i == 0 else Zs[i - 1]
                np.matmul(A_prev.T, dZ, out=dWs[i])
                np.matmul(ones, dZ, out=dbs[i])
                if i > 0:
                    np.matmul(dZ, Ws[i].T, out=dZs[i - 1])
                    dZs[i - 1] *= masks[i - 1]
                    dZ = dZs[i - 1]
                Ws[i] -= np.multiply(dWs[i], lr, out=steps_W[i])
                bs[i] -= np.multiply(dbs[i], lr, out=steps_b[i])
        return total / max(len(X) // batch, 1)

    epoch.params = (Ws, bs)  # type: ignore[attr-defined]
    return (len(X) // batch) * batch, epoch


def sklearn_train(X, y, batch):
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None

    def epoch() -> None:
        clf = MLPClassifier(
            hidden_layer_sizes=HIDDEN,
            solver="sgd",
            batch_size=batch,
            learning_rate_init=0.01,
            momentum=0.0,
            max_iter=1,
            shuffle=True,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return len(X), epoch


def cpu_model() -> str | None:
    """The CPU's model name, from /proc/cpuinfo (None where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def blas_kernels() -> list[dict[str, Any]]:
    """What threadpoolctl says of each BLAS loaded (NumPy's first): which library, which
    kernels (``architecture``), its version and threads."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "architecture", "version", "num_threads", "threading_layer")
    return [
        {k: info.get(k) for k in (*keys, "filepath")}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def flops_per_sample(sizes, train: bool) -> int:
    """Floating-point operations a sample costs in the products (2 per multiply-add): forward
    X W for every layer, and in training dW = X^T dZ for every layer and dX = dZ W^T for all
    but the first."""
    products = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    forward = sum(products)
    return 2 * (3 * forward - products[0] if train else forward)


def peak_sgemm(size: int = 4096, reps: int = 3) -> float:
    """FLOP/s of the best of ``reps`` float32 (size, size) products with the BLAS's default
    threads: the machine's peak as its BLAS reaches it."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((size, size)).astype(np.float32)
    B = rng.standard_normal((size, size)).astype(np.float32)
    C = np.empty_like(A)
    np.matmul(A, B, out=C)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        np.matmul(A, B, out=C)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size**3 / best


def gemm_run(X, sizes, batch, train: bool, threads: int | None):
    """Samples/s of the matrix products of a step alone (NumPy matmul into preallocated outputs).

    Training: forward X W for every layer, backward dW = X^T dZ for every layer and dX = dZ W^T
    for all but the first. Inference: the forward products.
    """
    rng = np.random.default_rng(0)
    Ws = [
        rng.standard_normal((a, b)).astype(np.float32)
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    As = [np.ascontiguousarray(X[:batch])]
    As += [np.empty((batch, W.shape[1]), np.float32) for W in Ws]
    dWs = [np.empty_like(W) for W in Ws]
    dXs = [np.empty((batch, W.shape[0]), np.float32) for W in Ws]
    steps = max(len(X) // batch, 1)

    def products() -> None:
        for step in range(steps):
            # inference reads its input from X, block after block, as predict must; a training
            # step's input is the batch just gathered into a buffer, still in cache
            inputs = As[0] if train else X[step * batch : (step + 1) * batch]
            for i, W in enumerate(Ws):
                np.matmul(inputs if i == 0 else As[i], W, out=As[i + 1])
            if not train:
                continue
            dZ = As[-1]
            for i in range(len(Ws) - 1, -1, -1):
                np.matmul(As[i].T, dZ, out=dWs[i])
                if i > 0:
                    dZ = np.matmul(dZ, Ws[i].T, out=dXs[i])

    def run() -> None:
        with blas_threads(threads):
            products()

    return steps * batch, run


def gemm_runs(X, sizes, batch, train: bool) -> dict[str, tuple[int, Callable[[], Any]]]:
    return {
        "gemm_1thread": gemm_run(X, sizes, batch, train, 1),
        "gemm_default": gemm_run(X, sizes, batch, train, None),
    }


# --- the run -----------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    sizes = (N_IN, *HIDDEN, N_CLASSES)
    X = rng.standard_normal((args.samples, N_IN)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, args.samples)
    # NumPy's BLAS thread count (one per core), read before torch loads a BLAS of its own
    threads = args.threads or worker_threads()
    blas = blas_kernels()
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
    jax = None if args.no_jax else import_jax()
    if args.threads:
        fcnet.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(threads)
    peak = peak_sgemm(args.peak_size)
    result: dict[str, Any] = {
        "config": {
            "cpu": cpu_model(),
            "blas": blas,
            "peak_sgemm_flops": peak,
            "samples": args.samples,
            "inference_samples": args.inference_samples,
            "chunk": args.chunk,
            "reps": args.reps,
            "settle_s": args.settle,
            "threads": threads,
            "fcnet_threads_rule": {
                str(b): blas_threads_for(b * N_IN * HIDDEN[0]) for b in args.batches
            },
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
            "numpy": np.__version__,
            "torch": None if torch is None else torch.__version__,
            "jax": None if jax is None else jax.__version__,
            "fcnet_kernels": fused_kernels(),
        },
        "train": {},
    }
    print(
        f"CPU: {result['config']['cpu']}; peak sgemm {peak / 1e9:,.0f} GFLOP/s; BLAS: "
        + "; ".join(
            f"{b['internal_api']} {b['version']} {b['architecture']}, {b['num_threads']} threads"
            for b in blas
        )
        + f"; fcnet kernels: {result['config']['fcnet_kernels']}",
        flush=True,
    )
    sgd = (lambda: fcnet.optimizers.SGD(0.01), lambda p: torch.optim.SGD(p, lr=0.01))
    adam = (lambda: fcnet.optimizers.Adam(1e-3), lambda p: torch.optim.Adam(p, lr=1e-3))
    for batch in args.batches:
        runs = {"fcnet": fcnet_train(X, y, sizes, batch, sgd[0])}
        runs["numpy"] = numpy_train(X, y, sizes, batch)
        if torch is not None:
            runs["torch"] = torch_train(torch, X, y, sizes, batch, sgd[1])
        if jax is not None:
            runs["jax"] = jax_train(jax, X, y, sizes, batch, "sgd")
        runs.update(gemm_runs(X, sizes, batch, train=True))
        floor = peak / flops_per_sample(sizes, train=True)
        result["train"][str(batch)] = measure(f"train B={batch}", runs, args, floor)
    Xi = rng.standard_normal((args.inference_samples, N_IN)).astype(np.float32)
    runs = {"fcnet": fcnet_predict(Xi, sizes, args.chunk)}
    if torch is not None:
        runs["torch"] = torch_predict(torch, Xi, sizes, args.chunk)
    if jax is not None:
        runs["jax"] = jax_predict(jax, Xi, sizes, args.chunk)
    runs.update(gemm_runs(Xi, sizes, args.chunk, train=False))
    if INFERENCE_ROWS < args.chunk:  # fcnet computes in smaller blocks: time those products too
        runs["gemm_blocks"] = gemm_run(Xi, sizes, INFERENCE_ROWS, False, None)
    floor = peak / flops_per_sample(sizes, train=False)
    result["inference"] = measure(f"predict chunk={args.chunk}", runs, args, floor)
    Xs = rng.standard_normal((args.samples, SMALL[0])).astype(np.float32)
    ys = rng.integers(0, SMALL[-1], args.samples)
    runs = {"fcnet": fcnet_train(Xs, ys, SMALL, 32, adam[0])}
    if torch is not None:
        runs["torch"] = torch_train(torch, Xs, ys, SMALL, 32, adam[1])
    if jax is not None:
        runs["jax"] = jax_train(jax, Xs, ys, SMALL, 32, "adam")
    runs.update(gemm_runs(Xs, SMALL, 32, train=True))
    floor = peak / flops_per_sample(SMALL, train=True)
    result["small_adam"] = measure("20-64-64-2 Adam B=32", runs, args, floor)
    # scikit-learn last: SciPy brings a second OpenBLAS whose idle threads must not disturb
    # the figures above
    for batch in args.batches:
        row = result["train"][str(batch)]
        if args.no_sklearn:
            row["sklearn"] = None
            continue
        contender = sklearn_train(X, y, batch)
        rate = None
        if contender is not None:
            rate = median_rates({"sk": contender}, min(args.reps, 3), args.settle)["sk"]
        row["sklearn"] = rate
        print(f"sklearn B={batch}: {'-' if rate is None else f'{rate:,.0f}'} samples/s")
    return result


def fused_kernels() -> bool:
    """Whether fcnet computes with its compiled kernels here (Numba installed and usable)."""
    ops = default_ops()
    return bool(ops.kernels and ops._load() is not None)


PEERS = ("torch", "jax", "numpy")


def measure(
    name: str,
    runs: dict[str, tuple[int, Callable[[], Any]]],
    args: argparse.Namespace,
    floor: float,
) -> dict:
    """Medians of each contender's samples/s, the ratios of the medians, and the rates of every
    round (``"rounds"``) with the range of fcnet's ratio to each peer within a round
    (``"vs_<peer>_range"``: the spread the machine's noise gives the ratios). ``floor``: the
    FLOP floor in samples/s; ``"vs_best"`` is fcnet's ratio to the faster of PyTorch and JAX."""
    rounds = round_rates(runs, args.reps, args.settle)
    row: dict[str, Any] = dict.fromkeys(PEERS)
    row.update({k: statistics.median(v) for k, v in rounds.items()})
    row["gemm_bound"] = max(v for k, v in row.items() if k.startswith("gemm_"))
    row["flop_floor"] = floor
    for peer in PEERS:
        row[f"vs_{peer}"] = None if not row[peer] else row["fcnet"] / row[peer]
        row[f"vs_{peer}_range"] = None
        if row[peer]:
            ratios = [a / b for a, b in zip(rounds["fcnet"], rounds[peer], strict=True)]
            row[f"vs_{peer}_range"] = [min(ratios), max(ratios)]
    peers = [row[p] for p in ("torch", "jax") if row[p]]
    row["vs_best"] = row["fcnet"] / max(peers) if peers else None
    row["gemm_fraction"] = row["fcnet"] / row["gemm_bound"]
    row["floor_fraction"] = row["fcnet"] / floor
    row["rounds"] = rounds
    print_row(name, row)
    return row


def print_row(name: str, row: dict[str, Any]) -> None:
    def rate(key: str) -> str:
        value = row.get(key)
        return f"{value:>9,.0f}" if value else f"{'-':>9}"

    def ratio(key: str) -> str:
        if row[key] is None:
            return "-"
        low, high = row[f"{key}_range"]
        return f"{row[key]:.2f} ({low:.2f}-{high:.2f})"

    best = "-" if row["vs_best"] is None else f"{row['vs_best']:.2f}"
    print(
        f"{name:<22} fcnet {rate('fcnet')}  torch {rate('torch')}  jax {rate('jax')}  "
        f"NumPy {rate('numpy')}  GEMM {rate('gemm_bound')}  floor {rate('flop_floor')}  "
        f"x torch {ratio('vs_torch')}  x jax {ratio('vs_jax')}  x best {best}  "
        f"x NumPy {ratio('vs_numpy')}  of GEMM {row['gemm_fraction']:.2f}  "
        f"of floor {row['floor_fraction']:.2f}",
        flush=True,
    )


def base_parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark script takes; ``quick`` applies ``--quick`` to them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 128, 1024])
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE_S,
        help=f"idle seconds before each timed call (default {SETTLE_S})",
    )
    return parser


def quick(args: argparse.Namespace) -> argparse.Namespace:
    """With ``--quick``, the options of :func:`base_parser` for a smoke run on tiny sizes."""
    if args.quick:
        args.reps, args.samples, args.settle, args.batches = 1, 512, 0.0, [32, 128]
    return args


def write_json(path: str | None, result: dict[str, Any]) -> None:
    """Write ``result`` to ``path`` as JSON (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--inference-samples", type=int, default=65536)
    parser.add_argument("--chunk", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=0, help="BLAS/torch threads (0: default)")
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument(
        "--peak-size", type=int, default=4096, help="size of the sgemm that measures the peak"
    )
    parser.add_argument(
        "--both",
        action="store_true",
        help="also run with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset",
    )
    args = quick(parser.parse_args(argv))
    if args.quick:
        args.inference_samples, args.chunk, args.peak_size = 1024, 256, 512
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    env_keys = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    print("environment: " + ", ".join(f"{k}={os.environ.get(k)}" for k in env_keys), flush=True)
    result = run(args)
    if args.both and any(k in os.environ for k in env_keys):
        env = {k: v for k, v in os.environ.items() if k not in env_keys}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "child.json")
            child = [a for a in argv if a != "--both"]
            if "--json" in child:
                i = child.index("--json")
                del child[i : i + 2]
            print("\nsame run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:", flush=True)
            subprocess.run([sys.executable, __file__, *child, "--json", path], env=env, check=True)
            with open(path) as f:
                result["without_openblas_env"] = json.load(f)
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
