"""Helpers for the pages' build-time blocks: fcnet's numbers as LaTeX, figures as inline SVG.

The pages' ``python exec="on"`` blocks compute every number they show by running fcnet while the
site is built; these functions only format what fcnet computed.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def docs_dir() -> Path:
    """The docs/ folder (this file lives in docs/hooks/)."""
    return Path(__file__).resolve().parent.parent


def num(value: float, digits: int = 6) -> str:
    """A number with up to ``digits`` significant digits, 0 printed as 0 (never -0)."""
    value = float(value)
    if value == 0.0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = rf"10^{{{int(exponent)}}}"
        if mantissa in ("1", "-1"):
            return power if mantissa == "1" else "-" + power
        return rf"{mantissa} \times {power}"
    return text


def tex(array: Any, digits: int = 6) -> str:
    """A vector or matrix as a LaTeX ``bmatrix`` (a 1-D array as one row)."""
    A = np.asarray(array, dtype=np.float64)
    if A.ndim == 0:
        return num(A, digits)
    if A.ndim == 1:
        A = A[None, :]
    rows = [" & ".join(num(v, digits) for v in row) for row in A]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def display(*lines: str, aligned: bool = False) -> str:
    """A display formula block (``$$ ... $$``), one line per argument: centred, or with
    ``aligned=True`` aligned at the ``&`` of each line."""
    body = " \\\\\n".join(lines)
    if len(lines) > 1 or aligned:
        env = "aligned" if aligned else "gathered"
        body = f"\\begin{{{env}}}\n{body}\n\\end{{{env}}}"
    return "\n$$\n" + body + "\n$$\n"


def svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG (text drawn as paths: no font needed), then closed."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE
    return f'<div class="fcnet-figure">\n{text}\n</div>\n'


def code(text: str, language: str = "text") -> str:
    """A fenced code block holding ``text``."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"\n{fence}{language}\n{text.rstrip()}\n{fence}\n"


def run_cli(args: Sequence[str], cwd: str | os.PathLike | None = None) -> tuple[int, str, str]:
    """Run ``fcnet ARGS`` in-process (in ``cwd``); return (exit code, stdout, stderr)."""
    from fcnet.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code_ = main(list(args))
    finally:
        os.chdir(previous)
    return code_, out.getvalue(), err.getvalue()


def _shorten_epochs(text: str, head: int = 3, tail: int = 2) -> str:
    """The per-epoch progress lines of ``fcnet train``: the first and last few, the rest as
    one ``...`` line."""
    lines = text.splitlines(keepends=True)
    epochs = [i for i, line in enumerate(lines) if line.startswith("epoch ")]
    if len(epochs) <= head + tail + 1:
        return text
    cut = epochs[head : len(epochs) - tail]
    return "".join(lines[: cut[0]]) + "...\n" + "".join(lines[cut[-1] + 1 :])


def session(commands: Sequence[str], cwd: str | os.PathLike) -> str:
    """Run ``fcnet ...`` command lines in ``cwd``; return them with what they printed, as a
    console block. A command that exits other than 0 fails the build."""
    import shlex

    shown = []
    for line in commands:
        words = shlex.split(line)
        if words[0] != "fcnet":
            raise ValueError(f"session: expected an fcnet command, got {line!r}.")
        status, out, err = run_cli(words[1:], cwd)
        if status != 0:
            raise RuntimeError(f"{line!r} exited {status}:\n{err}")
        shown.append(f"$ {line}\n{_shorten_epochs(err)}{out}".rstrip())
    return code("\n\n".join(shown), "console")


_previous_folders: list[Path] = []


def scratch() -> Path:
    """Enter a new temporary folder, for a tutorial whose code writes files; :func:`leave`
    goes back. (The build runs in the repository: the tutorials must not write there.)"""
    import tempfile

    _previous_folders.append(Path.cwd())
    folder = Path(tempfile.mkdtemp(prefix="fcnet-docs-"))
    os.chdir(folder)
    return folder


def leave() -> None:
    """Go back to the folder :func:`scratch` left, and delete the temporary one."""
    import shutil

    folder = Path.cwd()
    os.chdir(_previous_folders.pop())
    shutil.rmtree(folder, ignore_errors=True)


def compact_json(value: Any, width: int = 96, indent: int = 0, used: int = 0) -> str:
    """JSON indented by 2 spaces a level, with every object or list that fits in ``width``
    columns (after the ``used`` columns of its line) written on one line."""
    import json

    flat = json.dumps(value)
    if indent + used + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            label = json.dumps(key) + ": "
            items.append(pad + label + compact_json(item, width, indent + 2, len(label)))
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact_json(item, width, indent + 2) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def signature(obj: Any, name: str | None = None) -> str:
    """``name(arguments with their defaults)`` as inline code, read from the object itself."""
    import inspect

    label = name or f"{obj.__module__}.{obj.__qualname__}"
    parts = []
    for parameter in inspect.signature(obj).parameters.values():
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        text = parameter.name
        if parameter.default is not parameter.empty:
            text += f"={parameter.default!r}"
        parts.append(text)
    return f"`{label}({', '.join(parts)})`"
