"""Loading the compiled kernels once a process, with a disk cache that never serves stale code.

Numba checks a cached kernel against the source file of the kernel alone, not against the files
of the functions it calls (here :mod:`~fcnet._ops.kernels.vmath`), so the kernels are cached in
a directory named after a digest of every kernel source file and Numba's version: editing any of
them, or upgrading fcnet or Numba, starts a fresh cache instead of loading old machine code.

Where: under ``NUMBA_CACHE_DIR`` when the user set it, else in this package's ``__pycache__``,
else (a read-only installation) in the user's cache directory. When none can be written, the
kernels are not used (compiling them again in every process would cost seconds at each start)
and a warning says so once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

_HERE = Path(__file__).resolve().parent
_IN_TREE = _HERE / "__pycache__"  # beside the sources, where Numba caches by default
_SOURCES = ("jit.py", "vmath.py", "activations.py", "losses.py", "optimizers.py")

_lock = threading.Lock()
_loaded: Any = None  # None: not tried yet; False: unavailable; else the kernels


def load() -> Any:
    """The kernel modules as one namespace (``activations``, ``losses``, ``optimizers``), or
    None when Numba is not installed or no cache directory can be written. Imports Numba and
    the modules on the first call only."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _import() or False
    return _loaded or None


def _import() -> Any:
    try:
        import numba
    except ImportError:
        return None
    directory = cache_directory(numba)
    if directory is None:
        warnings.warn(
            "fcnet: no writable directory for the compiled kernels' cache (set NUMBA_CACHE_DIR "
            "to one); computing with NumPy alone.",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(directory)  # read when each kernel is decorated, below
    try:
        from fcnet._ops.kernels import activations, losses, optimizers
    finally:
        numba.config.CACHE_DIR = saved
    return SimpleNamespace(activations=activations, losses=losses, optimizers=optimizers)


def cache_directory(numba: Any) -> Path | None:
    """The first writable one of the candidate directories (see the module docstring), with
    the digest of the kernels' sources appended; None when none is writable."""
    digest = hashlib.sha256(numba.__version__.encode())
    for name in _SOURCES:
        digest.update((_HERE / name).read_bytes())
    leaf = f"fcnet-kernels-{digest.hexdigest()[:16]}"
    user_set = os.environ.get("NUMBA_CACHE_DIR")
    candidates = [Path(user_set)] if user_set else [_IN_TREE, _user_cache()]
    for base in candidates:
        path = base / leaf
        try:
            path.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=path).close()
        except OSError:
            continue
        return path
    return None


def _user_cache() -> Path:
    """Numba's own choice of a user-wide cache directory (``~/.cache/numba`` on Linux)."""
    try:
        from numba.misc.appdirs import AppDirs

        return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)
    except ImportError:
        return Path.home() / ".cache" / "numba"
