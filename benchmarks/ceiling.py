"""How close other ways of writing the training step get to the GEMM bound, measured side by
side with fcnet's ``fit`` in one run: where the ceiling of a NumPy-dispatched step lies on this
machine, and what a compiled one would add.

Same workload and network as ``mlp.py`` (float32 784-256-128-10 ReLU, softmax cross-entropy,
plain SGD, 16,384 samples an epoch, batch 32 / 128 / 1024). The contenders:

* ``fcnet``: its public ``fit``, one epoch a call (as in ``mlp.py``), with its compiled fused
  passes where Numba is installed.
* ``fcnet_numpy``: the same ``fit`` on the NumPy route (``NumpyOps(kernels=False)``: every
  element-wise pass a NumPy call, as without Numba).
* ``numpy``: the bare NumPy loop of ``mlp.py`` (:func:`mlp.numpy_train`).
* ``numpy_rows``: the same step split across threads by rows of the batch
  (:func:`rows_in_threads_train`): each thread gathers, runs forward and loss and the backward
  chain of dX for its rows with a single-threaded BLAS, then, once every row's dZ is known, each
  updates its share of the columns of every W straight from dZ (``W <- W - lr X^T dZ`` in one
  ``gemm``). Element-wise passes run on every core; the price is two thread hand-offs a step.
* ``fused``: a bare loop with the element-wise work of each layer compiled into a single pass
  by Numba (:func:`fused_train`; bias and ReLU; ReLU' and db and the bias update; softmax,
  cross-entropy, dZ and db), the products in the BLAS as above: how close a step with no
  library around it gets. Present only when Numba is installed (``pip install numba``).
* The GEMM bound of ``mlp.py``: the products alone, the better of 1 BLAS thread and the default.

Prints samples/s and each contender's fraction of the bound (medians of ``--reps`` rounds after
a warm-up, contenders taking turns, ``--settle`` idle seconds before each timed call);
``--json PATH`` writes them, ``--quick`` is a smoke run on tiny sizes.

    python benchmarks/ceiling.py [--quick] [--json PATH] [--reps N] [--batches 32 128 1024]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mlp  # noqa: E402  (the sibling script, found through the path above)

import fcnet  # noqa: E402
from fcnet import _blas  # noqa: E402
from fcnet._ops import NumpyOps  # noqa: E402
from fcnet.backend import blas_threads, blas_threads_for, worker_threads  # noqa: E402


def _sgd_product(A_prev, dZ, W, lr) -> None:
    """W <- W - lr A_prev^T dZ: one gemm where the BLAS takes the arrays, else NumPy."""
    if not _blas.gemm(-lr, A_prev, dZ, 1.0, W, trans_a=True):
        W -= lr * (A_prev.T @ dZ)


def rows_in_threads_train(X, y, sizes, batch, lr=0.01, threads=None):
    """``mlp.numpy_train``'s step with the batch's rows split across ``threads`` threads (the
    cores, by default), each with a single-threaded BLAS. Returns ``(samples, epoch)`` as
    ``numpy_train`` does, with ``epoch.params``."""
    rng = np.random.default_rng(0)
    depth = len(sizes) - 1
    Ws, bs = mlp.initial_params(sizes, rng)
    T = max(1, min(threads or worker_threads(), batch))
    # two batch buffers, a step's in one: a thread gathers the next batch while another may
    # still read every row of this one for its update
    Xbs = [np.empty((batch, sizes[0]), np.float32) for _ in range(2)]
    yb = np.empty(batch, np.intp)
    Zs = [np.empty((batch, b), np.float32) for b in sizes[1:]]  # Z, then f(Z) in place
    masks = [np.empty((batch, b), np.float32) for b in sizes[1:]]
    dZs = [np.empty((batch, b), np.float32) for b in sizes[1:]]
    zeros = [np.zeros((batch, b), np.float32) for b in sizes[1:]]
    ones = np.ones(batch, np.float32)
    rows = [slice(t * batch // T, (t + 1) * batch // T) for t in range(T)]
    cols = [[slice(t * n // T, (t + 1) * n // T) for t in range(T)] for n in sizes[1:]]
    dbs = [[np.empty(c.stop - c.start, np.float32) for c in layer] for layer in cols]
    y = np.asarray(y, np.intp)
    losses = [mlp.SoftmaxCrossEntropy(r.stop - r.start, sizes[-1]) for r in rows]
    barrier = threading.Barrier(T)
    totals = [0.0] * T

    def work(t: int, order: np.ndarray, steps: int) -> None:
        r = rows[t]
        yr = yb[r]
        Zr, Mr, dZr, zr = ([a[r] for a in arrays] for arrays in (Zs, masks, dZs, zeros))
        total = 0.0
        for step in range(steps):
            Xb = Xbs[step % 2]
            Xr = Xb[r]
            idx = order[step * batch + r.start : step * batch + r.stop]
            X.take(idx, axis=0, out=Xr, mode="clip")
            y.take(idx, out=yr, mode="clip")
            barrier.wait()  # the previous step's updates are all in place
            A = mlp.forward_relu(Xr, Ws, bs, Zr, Mr, zr)
            total += losses[t](A, yr, dZr[-1], 1.0 / batch)  # (P - Y) / m, m the whole batch
            for i in range(depth - 1, 0, -1):  # dX with the weights before the update
                np.matmul(dZr[i], Ws[i].T, out=dZr[i - 1])
                dZr[i - 1] *= Mr[i - 1]
            barrier.wait()  # every row's dZ is known, and no thread reads W any more
            for i in range(depth):
                c = cols[i][t]
                if c.start < c.stop:
                    dZ, db = dZs[i][:, c], dbs[i][t]
                    _sgd_product(Xb if i == 0 else Zs[i - 1], dZ, Ws[i][:, c], lr)
                    np.matmul(ones, dZ, out=db)
                    bs[i][c] -= np.multiply(db, lr, out=db)
        totals[t] = total

    def epoch() -> float:
        order = rng.permutation(len(X))
        steps = len(X) // batch
        errors: list[BaseException] = []

        def guarded(t: int) -> None:
            try:
                work(t, order, steps)
            except BaseException as exc:  # free the others from the barrier, report it
                errors.append(exc)
                barrier.abort()

        with blas_threads(1):
            helpers = [threading.Thread(target=guarded, args=(t,)) for t in range(1, T)]
            for helper in helpers:
                helper.start()
            guarded(0)
            for helper in helpers:
                helper.join()
        barrier.reset()
        if errors:
            raise errors[0]
        return sum(totals) / max(steps * batch, 1)

    epoch.params = (Ws, bs)  # type: ignore[attr-defined]
    return (len(X) // batch) * batch, epoch


@functools.cache
def _fused_kernels() -> dict[str, Any] | None:
    """The compiled passes of :func:`fused_train`, or None without Numba; made once a process
    (each is compiled at its first call)."""
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(nogil=True)  # compiled at the first call (the warm-up), not cached
    zero, one = np.float32(0.0), np.float32(1.0)  # float32 constants: no float64 arithmetic

    @jit
    def bias_relu(Z, b):  # Z <- max(Z + b, 0)
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                v = Z[i, j] + b[j]
                Z[i, j] = v if v > zero else zero

    @jit
    def relu_backward_update_b(dA, A, db, b, lr):  # dZ = dA * (A > 0) in place; db; b update
        db[:] = 0
        for i in range(dA.shape[0]):
            for j in range(dA.shape[1]):
                g = dA[i, j] if A[i, j] > zero else zero
                dA[i, j] = g
                db[j] += g
        for j in range(db.shape[0]):
            b[j] -= lr * db[j]

    @jit
    def softmax_ce_update_b(Z, y, dZ, db, b, lr, inv_m):  # loss sum; dZ = (P - Y) / m; b
        total = 0.0
        db[:] = 0
        for i in range(Z.shape[0]):
            top = Z[i, 0] + b[0]
            for j in range(1, Z.shape[1]):
                top = max(top, Z[i, j] + b[j])
            s = zero
            for j in range(Z.shape[1]):
                e = np.exp(Z[i, j] + b[j] - top)
                dZ[i, j] = e
                s += e
            total += np.log(s) - (Z[i, y[i]] + b[y[i]] - top)
            for j in range(Z.shape[1]):
                g = (dZ[i, j] / s - (one if j == y[i] else zero)) * inv_m
                dZ[i, j] = g
                db[j] += g
        for j in range(db.shape[0]):
            b[j] -= lr * db[j]
        return total

    return {
        "bias_relu": bias_relu,
        "relu_backward": relu_backward_update_b,
        "softmax_ce": softmax_ce_update_b,
    }


def fused_train(X, y, sizes, batch, lr=0.01):
    """``mlp.numpy_train``'s step with each layer's element-wise work compiled into one pass
    (Numba); None when Numba is not installed. Returns ``(samples, epoch)`` with
    ``epoch.params``."""
    kernels = _fused_kernels()
    if kernels is None:
        return None
    bias_relu, relu_backward, softmax_ce = (
        kernels["bias_relu"],
        kernels["relu_backward"],
        kernels["softmax_ce"],
    )
    rng = np.random.default_rng(0)
    depth = len(sizes) - 1
    Ws, bs = mlp.initial_params(sizes, rng)
    Xb = np.empty((batch, sizes[0]), np.float32)
    yb = np.empty(batch, np.intp)
    Zs = [np.empty((batch, b), np.float32) for b in sizes[1:]]  # Z, then f(Z) in place
    dZs = [np.empty((batch, b), np.float32) for b in sizes[1:]]
    dbs = [np.empty_like(b) for b in bs]
    y = np.asarray(y, np.intp)
    threads = blas_threads_for(batch * max(W.size for W in Ws))  # fcnet's rule
    lr32, inv_m = np.float32(lr), np.float32(1.0 / batch)

    def epoch() -> float:
        order = rng.permutation(len(X))
        total = 0.0
        with blas_threads(threads):
            for start in range(0, len(X) - batch + 1, batch):
                idx = order[start : start + batch]
                X.take(idx, axis=0, out=Xb, mode="clip")
                y.take(idx, out=yb, mode="clip")
                A = Xb
                for i in range(depth - 1):
                    np.matmul(A, Ws[i], out=Zs[i])
                    bias_relu(Zs[i], bs[i])
                    A = Zs[i]
                np.matmul(A, Ws[-1], out=Zs[-1])  # the last bias is added inside the loss
                total += softmax_ce(Zs[-1], yb, dZs[-1], dbs[-1], bs[-1], lr32, inv_m)
                for i in range(depth - 1, -1, -1):
                    A_prev = Xb if i == 0 else Zs[i - 1]
                    if i > 0:  # dX with the weights before the update
                        np.matmul(dZs[i], Ws[i].T, out=dZs[i - 1])
                    _sgd_product(A_prev, dZs[i], Ws[i], lr)
                    if i > 0:
                        relu_backward(dZs[i - 1], Zs[i - 1], dbs[i - 1], bs[i - 1], lr32)
        return total / max((len(X) // batch) * batch, 1)

    epoch.params = (Ws, bs)  # type: ignore[attr-defined]
    return (len(X) // batch) * batch, epoch


CONTENDERS = ("fcnet", "fcnet_numpy", "numpy", "numpy_rows", "fused")


def fcnet_numpy_train(X, y, sizes, batch):
    """``mlp.fcnet_train`` on the NumPy route (no compiled kernel)."""
    model = mlp.fcnet_model(sizes).to(NumpyOps(kernels=False))

    def epoch() -> None:
        optimizer = fcnet.optimizers.SGD(0.01)
        model.fit(
            X, y, loss="cross_entropy", optimizer=optimizer, epochs=1, batch_size=batch, rng=0
        )

    return len(X), epoch


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    sizes = (mlp.N_IN, *mlp.HIDDEN, mlp.N_CLASSES)
    X = rng.standard_normal((args.samples, mlp.N_IN)).astype(np.float32)
    y = rng.integers(0, mlp.N_CLASSES, args.samples)
    result: dict[str, Any] = {
        "config": {
            "samples": args.samples,
            "reps": args.reps,
            "settle_s": args.settle,
            "threads": worker_threads(),
            "numpy": np.__version__,
        },
        "train": {},
    }
    for batch in args.batches:
        runs = {
            "fcnet": mlp.fcnet_train(X, y, sizes, batch, lambda: fcnet.optimizers.SGD(0.01)),
            "fcnet_numpy": fcnet_numpy_train(X, y, sizes, batch),
            "numpy": mlp.numpy_train(X, y, sizes, batch),
            "numpy_rows": rows_in_threads_train(X, y, sizes, batch),
        }
        fused = fused_train(X, y, sizes, batch)
        if fused is not None:
            runs["fused"] = fused
        runs.update(mlp.gemm_runs(X, sizes, batch, train=True))
        rounds = mlp.round_rates(runs, args.reps, args.settle)
        row: dict[str, Any] = {k: statistics.median(v) for k, v in rounds.items()}
        row["gemm_bound"] = max(row["gemm_1thread"], row["gemm_default"])
        row["fraction"] = {
            name: (row[name] / row["gemm_bound"] if name in row else None) for name in CONTENDERS
        }
        row["rounds"] = rounds
        result["train"][str(batch)] = row
        shown = "  ".join(
            f"{name} {row[name]:>9,.0f} ({row['fraction'][name]:.2f})"
            if name in row
            else f"{name} -"
            for name in CONTENDERS
        )
        print(
            f"train B={batch:<5} {shown}  GEMM bound {row['gemm_bound']:>9,.0f}"
            "  (samples/s, fraction of the bound)",
            flush=True,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = mlp.base_parser(__doc__.splitlines()[0])
    args = mlp.quick(parser.parse_args(sys.argv[1:] if argv is None else argv))
    mlp.write_json(args.json, run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
