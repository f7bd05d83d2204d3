"""What the commands print: progress on stderr (a live bar on a terminal, else a line per
epoch) and results on stdout (a rich table on a terminal, else plain text)."""

from __future__ import annotations

import sys
import time
from typing import Any


def format_logs(logs: dict[str, float], short: bool = False) -> str:
    parts = []
    for key, value in logs.items():
        if key == "lr":
            continue
        if short:
            key = key.replace("accuracy", "acc")
        parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


class Progress:
    """A ``fit`` callback showing progress: a rich bar on a terminal, else one line per epoch.

    Writes to stderr, so that stdout carries only results.
    """

    def __init__(self, epochs: int, *, quiet: bool = False, stream: Any = None) -> None:
        self.epochs = epochs
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.live = not quiet and is_terminal(self.stream)
        self._bar: Any = None
        self._task: Any = None
        self._last = time.perf_counter()

    def on_train_begin(self, model: Any) -> None:
        """Start the bar (terminal only)."""
        self._last = time.perf_counter()
        if not self.live:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(bar_width=16),
            TimeElapsedColumn(),
            TextColumn("{task.fields[logs]}"),
            console=Console(file=self.stream),
        )
        self._bar.start()
        self._task = self._bar.add_task("train", total=self.epochs, logs="")

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: Any) -> bool:
        """Advance the bar, or print one plain line."""
        if self.quiet:
            return False
        if self._bar is not None:
            self._bar.update(self._task, completed=epoch + 1, logs=format_logs(logs, short=True))
        else:
            now = time.perf_counter()
            seconds, self._last = now - self._last, now
            print(
                f"epoch {epoch + 1}/{self.epochs}  {format_logs(logs)}  ({seconds:.2f}s)",
                file=self.stream,
                flush=True,
            )
        return False

    def on_train_end(self, model: Any) -> None:
        """Stop the bar."""
        self.close()

    def close(self) -> None:
        """Stop the bar, if running (also after an exception)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Output:
    """Results on stdout: rich tables on a terminal, plain text otherwise; --quiet keeps finals."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.rich = is_terminal(sys.stdout)

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def final(self, text: str) -> None:
        print(text, flush=True)

    def table(self, results: dict[str, dict[str, float]], counts: dict[str, int]) -> None:
        if self.quiet or not results:
            return
        keys = list(next(iter(results.values())))
        header = ["", "samples", *keys]
        rows = [
            [part, str(counts[part]), *(f"{values[k]:.4f}" for k in keys)]
            for part, values in results.items()
        ]
        if self.rich:
            from rich.console import Console
            from rich.table import Table

            table = Table(*header, title="results")
            for column in table.columns[1:]:
                column.justify = "right"
            for row in rows:
                table.add_row(*row)
            Console(file=sys.stdout).print(table)
            return
        widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
        lines = [
            "  ".join(
                cell.ljust(w) if c == 0 else cell.rjust(w)
                for c, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in [header, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        print("\n".join(lines), flush=True)
