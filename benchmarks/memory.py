"""Peak memory of ``fit`` on 60,000 x 784 float32 data (MNIST-sized), measured in a child process.

The child builds the data, records its resident set size (RSS), trains, and reports its peak
RSS (``ru_maxrss``). The target: the peak stays within the data set plus 50 MB, i.e. ``fit``
never copies the data (float32, C-contiguous) and allocates only per-batch buffers.

    python benchmarks/memory.py [--rows 60000] [--batch-size 128] [--epochs 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np
import fcnet

rows, batch_size, epochs = (int(a) for a in sys.argv[1:4])
rng = np.random.default_rng(0)
X = rng.standard_normal((rows, 784), dtype=np.float32)
y = rng.integers(0, 10, rows)
model = fcnet.Sequential([
    fcnet.Dense(784, 256, "relu", rng=0), fcnet.Dense(256, 128, "relu", rng=1),
    fcnet.Dense(128, 10, rng=2),
])
model.fit(X[:256], y[:256], loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=batch_size)
kib = 1024
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib
with open("/proc/self/statm") as f:
    current = int(f.read().split()[1]) * resource.getpagesize()
model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=epochs, batch_size=batch_size, rng=0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib
print(json.dumps({"data_bytes": X.nbytes + y.nbytes, "rss_before_fit": current,
                  "peak_before_fit": before, "peak_rss": peak}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(args.rows), str(args.batch_size), str(args.epochs)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    mb = 1e6
    grown = figures["peak_rss"] - figures["rss_before_fit"]
    print(f"data set (X + y):           {figures['data_bytes'] / mb:8.1f} MB")
    print(f"RSS before fit (with data): {figures['rss_before_fit'] / mb:8.1f} MB")
    print(f"peak RSS during fit:        {figures['peak_rss'] / mb:8.1f} MB")
    print(f"growth during fit:          {grown / mb:8.1f} MB  (target: < 50 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
