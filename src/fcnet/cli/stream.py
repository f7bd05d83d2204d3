"""``fcnet train`` on data larger than memory: a ``.npy`` array memory-mapped, or a Parquet file
read by row groups (:mod:`fcnet.sources`), never whole.

The training, validation and test parts are whole groups of rows (drawn with ``--seed``), so
each part reads only its groups; the scaler is fitted in one pass over the training groups;
the final table is computed group by group. Under an MPI launcher each process reads its share
of every pass and the results are summed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

from fcnet.cli.common import (
    CLASSIFICATION_METRICS,
    EXIT_OK,
    REGRESSION_METRICS,
    UsageError,
    check_name,
    int_list,
    loss_name,
)
from fcnet.cli.tabular import build_model
from fcnet.cli.train_common import final_line, fit_quietly, interrupted, output_for, targets_for

#: Bytes per value that reading a Parquet file whole costs at its peak (the table, its float64
#: columns, the float32 features and the rows of each part), measured on numeric files.
_BYTES_PER_VALUE = 24


def wanted(args: argparse.Namespace, world: Any) -> bool:
    """Whether ``fcnet train`` streams DATA: ``--stream on``; a ``.npy``; a Parquet file whose
    values would not fit in half the memory available to each process of this machine."""
    data = args.data
    if data is None or args.stream == "off":
        return False
    name = str(data).lower()
    if name.endswith(".npy"):
        return True
    parquet = name.endswith((".parquet", ".pq"))
    if args.stream == "on":
        if not parquet:
            raise UsageError(f"--stream on needs a .parquet or .npy DATA file, got '{data}'.")
        return True
    if not parquet or args.categorical is not None or args.drop is not None:
        return False
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(data).metadata
    except Exception:  # not readable here: the loader says what is wrong
        return False
    budget = available_memory() / 2 / max(world.local_size, 1)
    return meta.num_rows * meta.num_columns * _BYTES_PER_VALUE > budget


def available_memory() -> float:
    """Bytes of memory available to new allocations (Linux: MemAvailable), else the total."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def open_source(args: argparse.Namespace) -> Any:
    """The DATA file as a source: a Parquet file's row groups, or a memory-mapped ``.npy``
    whose labels are ``--target`` (another ``.npy``) or one of its columns (default the last)."""
    from fcnet.sources import ArraySource, ParquetSource

    path = str(args.data)
    if not path.lower().endswith(".npy"):
        return ParquetSource(path, target=args.target)
    X = _load_npy(path, "DATA")
    if X.ndim != 2:
        raise UsageError(f"'{path}' holds an array of shape {X.shape}; expected (rows, columns).")
    target = args.target
    if target is not None and str(target).lower().endswith(".npy"):
        y = np.asarray(_load_npy(target, "--target"))
        if len(y) != len(X):
            raise UsageError(f"--target '{target}' has {len(y)} rows, DATA '{path}' {len(X)}.")
        return ArraySource(X, y, name=f"'{path}'", group_rows=_group_rows(X, X.shape[1]))
    if X.shape[1] < 2:
        raise UsageError(f"'{path}' has one column; pass its labels with --target LABELS.npy.")
    try:
        column = -1 if target is None else int(target)
    except ValueError:
        raise UsageError(
            f"--target for a .npy is a column index or a LABELS.npy file, got {target!r}."
        ) from None
    column %= X.shape[1]
    columns = [j for j in range(X.shape[1]) if j != column]
    rows = _group_rows(X, len(columns))
    return ArraySource(
        X, np.asarray(X[:, column]), name=f"'{path}'", columns=columns, group_rows=rows
    )


def _group_rows(X: np.ndarray, features: int) -> int:
    """Rows per group of an array: at most 32 MiB of float32 features, and about 128 groups
    (the parts of a split are whole groups)."""
    return max(1, min((32 << 20) // (4 * features), -(-len(X) // 128)))


def _load_npy(path: str, flag: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise UsageError(f"{flag} '{path}': no such file.")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise UsageError(f"{flag} '{path}' is not a .npy array of numbers ({exc}).") from None


def split_groups(source: Any, val: float, test: float, rng: Any, path: str) -> dict[str, Any]:
    """{"training", "validation", "test"}: row groups, drawn at random, whole."""
    n = len(source.group_rows)
    k_test = max(1, round(test * n)) if test > 0 else 0
    k_val = max(1, round(val * n)) if val > 0 else 0
    if k_test + k_val >= n:
        raise UsageError(
            f"'{path}' has {n} row group{'s' * (n != 1)}, and streamed, --val and --test hold "
            "out whole groups; write it in more row groups, or lower --val and --test."
        )
    order = rng.permutation(n)
    return {
        "training": np.sort(order[k_test + k_val :]),
        "validation": np.sort(order[k_test : k_test + k_val]),
        "test": np.sort(order[:k_test]),
    }


def fit_scaler(kind: str, source: Any, world: Any) -> Any:
    """The ``--scale`` scaler fitted in one pass over the source's groups (each process its
    share of them, the statistics merged in rank order: the same scaler everywhere)."""
    from fcnet.distributed import agree
    from fcnet.preprocessing import make_scaler

    if kind == "none":
        return None
    n = source.n_features
    count, mean, squares = 0, np.zeros(n), np.zeros(n)
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    error = None
    try:
        for i in range(world.rank, len(source.group_rows), world.size):
            block = source.read_group(i, np.float32).astype(np.float64)
            part = (len(block), block.mean(axis=0), block.var(axis=0) * len(block))
            count, mean, squares = _merge((count, mean, squares), part)
            low, high = np.minimum(low, block.min(axis=0)), np.maximum(high, block.max(axis=0))
    except Exception as exc:
        error = exc
    parts = agree(world, error, (count, mean, squares, low, high))
    count, mean, squares = 0, np.zeros(n), np.zeros(n)
    for part in parts:
        count, mean, squares = _merge((count, mean, squares), part[:3])
    low = np.min([p[3] for p in parts], axis=0)
    high = np.max([p[4] for p in parts], axis=0)
    constant = high == low
    if kind == "standard":
        scale = np.sqrt(squares / count)
        mean[constant], scale[constant | (scale == 0)] = low[constant], 1.0
        stats = {"mean": mean.tolist(), "scale": scale.tolist()}
    else:
        spread = high - low
        spread[spread == 0] = 1.0
        stats = {"data_min": low.tolist(), "data_range": spread.tolist()}
    scaler = make_scaler(kind)
    config = {"type": type(scaler).__name__, "n_features": n} | stats
    return type(scaler).from_config(config)


def _merge(a: tuple, b: tuple) -> tuple:
    """Chan et al.'s merge of (count, mean, sum of squared deviations) of two parts."""
    (n_a, mean_a, sq_a), (n_b, mean_b, sq_b) = a, b
    n = n_a + n_b
    if n_b == 0:
        return a
    delta = mean_b - mean_a
    return n, mean_a + delta * (n_b / n), sq_a + sq_b + delta**2 * (n_a * n_b / n)


def outputs(model: Any, source: Any, world: Any) -> np.ndarray:
    """The model's outputs on every row of ``source``, each process computing its groups."""
    from fcnet._inputs import prepare_inputs
    from fcnet.distributed import agree

    starts = source.group_starts
    out = np.zeros((len(source), model.n_out or 1), dtype=model.dtype)
    error = None
    try:
        for i in range(world.rank, len(source.group_rows), world.size):
            block = prepare_inputs(model, source.read_group(i, model.dtype), "train")
            out[starts[i] : starts[i + 1]] = model._predict_raw(block, 4096)
    except Exception as exc:
        error = exc
    world.allreduce(out)
    agree(world, error)
    return out


def run(args: argparse.Namespace, comm: Any, world: Any) -> int:
    """``fcnet train`` streamed (see the module docstring)."""
    from fcnet.activations import ACTIVATIONS
    from fcnet.distributed import agreed
    from fcnet.optimizers import OPTIMIZERS

    rank, path = world.rank, str(args.data)
    with agreed(world):  # the flags and the file: a failure on one process fails all
        hidden = int_list("--hidden", args.hidden, allow_empty=True)
        activation = check_name("--activation", args.activation, ACTIVATIONS)
        optimizer = check_name("--optimizer", args.optimizer, OPTIMIZERS)
        loss = None if args.loss == "auto" else loss_name(args.loss)
        show = output_for(args, rank)
        source = open_source(args)
        y = source.targets()
        task, loss, targets, n_out, classes, _ = targets_for(args, y, loss)
        rng = np.random.default_rng(args.seed)
        groups = split_groups(source, args.val, args.test, rng, path)
        parts = {name: source.subset(g, targets) for name, g in groups.items() if len(g)}
    scaler = fit_scaler(args.scale, parts["training"], world)
    model = build_model(source.n_features, hidden, n_out, activation, args.dropout, rng, None)
    model.preprocessing = scaler
    counts = {name: len(part) for name, part in parts.items()}
    show.line(
        f"'{path}': {len(source)} samples, {source.n_features} features, {task}"
        + (f" ({len(classes)} classes)" if classes is not None else "")
        + f"; streamed in {len(source.group_rows)} groups of rows: "
        + ", ".join(f"{counts.get(p, 0)} {p}" for p in ("training", "validation", "test"))
    )
    show.line(
        f"network {'-'.join(map(str, [source.n_features, *hidden, n_out]))} ({activation}), "
        f"{model.n_params():,} parameters; loss {loss}, {optimizer} lr={args.lr:g}, "
        f"{args.epochs} epochs, batch {args.batch_size}, scale {args.scale}, seed {args.seed}"
    )
    validation = (parts["validation"], None) if "validation" in parts else None
    history = fit_quietly(
        args,
        model,
        rank,
        parts["training"],
        None,
        loss=loss,
        optimizer=optimizer,
        validation_data=validation,
        metrics=["accuracy"] if task == "classification" else ["mae"],
        rng=int(rng.integers(2**31)),
        distributed=comm,
    )
    if history.interrupted:
        return interrupted(args, history, rank)
    return _report(args, model, parts, task, classes, world, show, history)


def _report(
    args: argparse.Namespace,
    model: Any,
    parts: dict[str, Any],
    task: str,
    classes: Any,
    world: Any,
    show: Any,
    history: Any,
) -> int:
    from fcnet.losses import get_loss
    from fcnet.train.evaluate import get_metrics, scores

    loss = get_loss(
        {"classification": "cross_entropy", "binary": "binary_cross_entropy"}.get(
            model.task or "", "mse"
        )
    )
    names = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    metrics = get_metrics(names)
    results = {}
    for name, part in parts.items():
        out = outputs(model, part, world)
        Y = loss.prepare_targets(part.targets(), model.n_out, model.dtype)
        results[name] = scores(loss, out, Y, metrics, None)
    show.table(results, {name: len(part) for name, part in parts.items()})
    if classes is not None:
        model.classes = classes
    if world.rank == 0:
        from fcnet.io import save

        show.line(f"model written to {save(model, args.out)}")
        if args.plot:
            from fcnet.plots import plot_history

            curves = plot_history(history, args.plot, title=f"Learning curves ('{args.data}')")
            show.line(f"learning curves written to {curves}")
    final_line(show, task, results)
    return EXIT_OK
