"""fcnet against another version of itself, side by side in one run: the workloads of
``benchmarks/mlp.py``, each version in a worker process of its own, taking turns call by call.

    python benchmarks/versions.py --baseline REV [--reps 7]

REV (a commit, a tag, a branch) is checked out into a temporary git worktree; each worker runs
with that tree's (or this checkout's) ``src`` first on ``sys.path`` and only fcnet's public API,
so any two versions compare. Each timed call starts after ``--settle`` idle seconds, the version
that goes first alternating round by round. Printed: samples/s (median over the rounds) of each
version and the ratio this checkout / baseline, with its range over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ["train 32", "train 128", "train 1024", "predict", "small adam 32"]


def worker() -> None:
    """Answer one line per request on stdin: the samples/s of one timed call."""
    import numpy as np

    import fcnet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((16384, 784)).astype(np.float32)
    y = rng.integers(0, 10, 16384)
    X_pred = rng.standard_normal((65536, 784)).astype(np.float32)
    X_small = rng.standard_normal((16384, 20)).astype(np.float32)
    y_small = rng.integers(0, 2, 16384)

    def model(sizes):
        last = len(sizes) - 2
        return fcnet.Sequential(
            [
                fcnet.Dense(a, b, "identity" if i == last else "relu", rng=i)
                for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
            ]
        )

    big, small = model((784, 256, 128, 10)), model((20, 64, 64, 2))
    big.task = "classification"

    def call(request: str) -> int:
        words = request.split()
        if words[0] == "train":
            options = dict(loss="cross_entropy", epochs=1, rng=0, batch_size=int(words[1]))
            big.fit(X, y, optimizer=fcnet.optimizers.SGD(0.01), **options)
            return len(X)
        if words[0] == "predict":
            big.predict(X_pred, batch_size=4096)
            return len(X_pred)
        options = dict(loss="cross_entropy", epochs=1, rng=0, batch_size=int(words[2]))
        small.fit(X_small, y_small, optimizer=fcnet.optimizers.Adam(1e-3), **options)
        return len(X_small)

    for request in WORKLOADS:  # warm-up
        call(request)
    print("ready", flush=True)
    for line in sys.stdin:
        started = time.perf_counter()
        n = call(line.strip())
        print(n / (time.perf_counter() - started), flush=True)


class Worker:
    def __init__(self, src: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(src))
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def rate(self, request: str) -> float:
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, metavar="REV")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--settle", type=float, default=0.3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        git = ["git", "-C", str(ROOT)]
        subprocess.run([*git, "worktree", "add", "--detach", str(tree), args.baseline], check=True)
        try:
            result = compare(Worker(ROOT / "src"), Worker(tree / "src"), args)
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=True)
    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"baseline {args.baseline}, {args.reps} rounds"
    )
    print(f"{'workload':<16}{'this':>12}{'baseline':>12}{'ratio':>8}  range")
    for name, row in result.items():
        print(
            f"{name:<16}{row['this']:>12,.0f}{row['baseline']:>12,.0f}{row['ratio']:>8.3f}"
            f"  {row['low']:.3f}-{row['high']:.3f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def compare(this: Worker, baseline: Worker, args: argparse.Namespace) -> dict:
    rates: dict[str, dict[str, list[float]]] = {w: {"this": [], "baseline": []} for w in WORKLOADS}
    try:
        for k in range(args.reps):
            for request in WORKLOADS:
                order = [("this", this), ("baseline", baseline)]
                for name, who in order if k % 2 == 0 else order[::-1]:
                    time.sleep(args.settle)
                    rates[request][name].append(who.rate(request))
    finally:
        this.close()
        baseline.close()
    result = {}
    for request, pair in rates.items():
        ratios = [a / b for a, b in zip(pair["this"], pair["baseline"], strict=True)]
        result[request] = {
            "this": statistics.median(pair["this"]),
            "baseline": statistics.median(pair["baseline"]),
            "ratio": statistics.median(ratios),
            "low": min(ratios),
            "high": max(ratios),
            "rounds": pair,
        }
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        sys.exit(main())
