"""Peak memory of training from a Parquet file larger than what is kept in memory.

Writes a Parquet file of ``--rows`` rows of 784 float32 features and a label (in row groups of
``--group-rows``), then trains a 784-256-128-10 network on it for one epoch, streamed
(``fcnet.data.ParquetSource``), and prints the file's size beside the process's peak resident
memory (``ru_maxrss``) and the samples per second. Run it in a fresh process: the peak is that
of the whole process, the interpreter and NumPy included.

    python benchmarks/streaming.py --rows 500000 --path /tmp/big.parquet
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def write(path: str, rows: int, group_rows: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"p{j}" for j in range(784)]
    schema = pa.schema([(name, pa.float32()) for name in names] + [("y", pa.int64())])
    centers = rng.normal(size=(10, 784)).astype(np.float32)
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for start in range(0, rows, group_rows):
            n = min(group_rows, rows - start)
            y = rng.integers(0, 10, n)
            X = centers[y] + rng.normal(size=(n, 784)).astype(np.float32)
            columns = [pa.array(X[:, j]) for j in range(784)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--group-rows", type=int, default=16_384)
    parser.add_argument("--path", default="/tmp/fcnet-big.parquet")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--window", type=int, default=4)
    args = parser.parse_args()
    if not os.path.exists(args.path):
        started = time.perf_counter()
        write(args.path, args.rows, args.group_rows)
        print(f"wrote {args.path} in {time.perf_counter() - started:.0f} s")

    import fcnet

    source = fcnet.data.ParquetSource(args.path, target="y", window=args.window)
    model = fcnet.Sequential(
        [
            fcnet.Dense(784, 256, activation="relu", rng=0),
            fcnet.Dense(256, 128, activation="relu", rng=1),
            fcnet.Dense(128, 10, rng=2),
        ]
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    history = model.fit(source, None, epochs=1, batch_size=args.batch_size, rng=0)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = os.path.getsize(args.path) / 2**20
    group = 784 * 4 * args.group_rows / 2**20
    print(
        f"file {size:,.0f} MiB ({len(source):,} rows, {len(source.group_rows)} row groups of "
        f"{group:.0f} MiB as float32); peak RSS {peak:,.0f} MiB (before fit {before:,.0f} MiB); "
        f"{len(source) / seconds:,.0f} samples/s; loss {history.history['loss'][-1]:.4f}"
    )


if __name__ == "__main__":
    main()
