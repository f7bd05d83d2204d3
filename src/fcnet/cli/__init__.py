"""The ``fcnet`` command: train, evaluate, predict, gradcheck, explain.

Exit codes: 0 success; 1 a gradient check failed; 2 a usage or data error (one line on stderr,
``fcnet: error: ...``); 3 training diverged (a NaN or inf loss or gradient); 130 interrupted
(Ctrl-C), after the checkpoint, if any, was written; 141 the output pipe was closed.

Results go to stdout, progress and errors to stderr. On a terminal, progress is a live bar and
the results a table (rich); otherwise one plain line per epoch, free of escape codes.

One module per command (``train``, ``evaluate``, ``predict``, ``gradcheck``, ``explain``), each
with ``add_parser(commands, formatter)`` and ``run(args) -> int``; ``common`` holds the exit
codes, the usage error, the flag checks and the shared loaders, ``output`` the progress and
result printing, ``app`` the parser and :func:`main`.
"""

from fcnet.cli.app import build_parser, main
from fcnet.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_DIVERGED,
    EXIT_GRADCHECK_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_DIVERGED",
    "EXIT_GRADCHECK_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]
