"""Loading the compiled kernels once a process, with a disk cache that never serves stale code.

Numba checks a cached kernel against the source file of the kernel alone, not against the files
of the functions it calls (here :mod:`~fcnet._ops.kernels.vmath`), so the kernels are cached in
a directory named after a digest of every kernel source file and Numba's version: editing any of
them, or upgrading fcnet or Numba, starts a fresh cache instead of loading old machine code.

The matrix-product kernel (:mod:`~fcnet._ops.kernels.blas`) calls the ``cblas_?gemm`` of NumPy's
own OpenBLAS, found and checked by ``fcnet._blas``: the library is made known to the compiler,
its symbol names (part of the digest) handed to the module, and the kernel checked against
``np.matmul`` on a small example before it is used. Without it the other kernels still are.

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
_SOURCES = (
    "jit.py",
    "vmath.py",
    "sums.py",
    "activations.py",
    "losses.py",
    "optimizers.py",
    "blas.py",
    "dense.py",
)

_lock = threading.Lock()
_loaded: Any = None  # None: not tried yet; False: unavailable; else the kernels


def load() -> Any:
    """The kernel modules as one namespace (``activations``, ``losses``, ``optimizers``,
    ``sums``, and the ``gemm`` kernel and ``dense`` module, None without NumPy's OpenBLAS),
    or None when Numba is not installed or no cache directory can be written. Imports Numba and
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
    blas = _gemm_library()
    directory = cache_directory(numba, () if blas is None else blas)
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
        from fcnet._ops.kernels import activations, losses, optimizers, sums

        gemm = dense = None
        if blas is not None:
            gemm = _gemm_kernel(blas)
        if gemm is not None:
            from fcnet._ops.kernels import dense
    finally:
        numba.config.CACHE_DIR = saved
    kernels = SimpleNamespace(
        activations=activations, losses=losses, optimizers=optimizers, sums=sums
    )
    kernels.gemm, kernels.dense = gemm, dense
    return kernels


def _gemm_library() -> tuple[str, str, str] | None:
    """(path, sgemm symbol, dgemm symbol) of NumPy's OpenBLAS where ``fcnet._blas`` found and
    checked both routines, made known to the compiler; else None."""
    import numpy as np

    from fcnet import _blas

    path = _blas._numpy_openblas()
    routines = [_blas._routine("gemm", np.dtype(t)) for t in (np.float32, np.float64)]
    if path is None or None in routines:
        return None
    try:
        import llvmlite.binding as llvm

        llvm.load_library_permanently(path)
    except Exception:  # a library the compiler cannot load: NumPy's matmul then
        return None
    return path, routines[0].__name__, routines[1].__name__


def _gemm_kernel(blas: tuple[str, str, str]) -> Any:
    """The compiled gemm, checked against NumPy on a product with both transposes and both
    scalars; None if it disagrees."""
    import numpy as np

    from fcnet._ops.kernels import jit

    jit.GEMM_SYMBOLS = blas[1:]
    from fcnet._ops.kernels.blas import gemm

    for dtype in (np.float32, np.float64):
        A = np.arange(1.0, 13.0, dtype=dtype).reshape(4, 3)  # read transposed: (3, 4)
        B = np.arange(-4.0, 6.0, dtype=dtype).reshape(2, 5)[:, :4].copy()  # transposed: (4, 2)
        C = np.full((3, 2), 2.0, dtype=dtype)
        expected = -2.0 * (A.T @ B.T) + 0.5 * C
        gemm(A, B, C, -2.0, 0.5, True, True)
        if not np.array_equal(C, expected):
            return None
    return gemm


def cache_directory(numba: Any, blas: tuple[str, ...] = ()) -> Path | None:
    """The first writable one of the candidate directories (see the module docstring), with
    the digest of the kernels' sources (and of the BLAS they call) appended; None when none is
    writable."""
    digest = hashlib.sha256(numba.__version__.encode())
    digest.update(repr(blas).encode())
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
