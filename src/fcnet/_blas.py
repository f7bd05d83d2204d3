"""y <- y + alpha x through the BLAS NumPy computes with (its ``axpy``), where it can be found.

NumPy has no fused multiply-add for arrays: ``p -= lr * g`` is two passes in one thread (a
scratch ``lr * g``, then the subtraction). The BLAS's ``axpy`` makes one pass, shared between the
BLAS's own threads, the ones that computed ``g`` a moment ago. Measured on 2 cores (784-256-128-10,
plain SGD, a two-thread BLAS in ``fit``): the weight update of a step took 55-74 us against
105-135 us, 10% of a step at batch 32.

Only OpenBLAS is used, and only the copy NumPy itself loaded (waking another library's thread
pool would make two pools compete for the cores); its ``cblas_?axpy`` is looked up under the
symbol names OpenBLAS builds use (``scipy_`` prefix, ``64_`` suffix for NumPy's wheels) and
checked on a small example before it is trusted. Anything else (another BLAS, arrays that are not
contiguous, small arrays where the foreign call costs more than it saves) takes NumPy's two
passes. The results are the same up to rounding: ``axpy`` may round ``y + alpha x`` once (a
fused multiply-add) where NumPy rounds ``alpha x`` first.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: Below this many elements the two NumPy passes are cheaper than the foreign call (about 3.5 us
#: through ctypes; measured on 2 cores, the two break even near 32,768 float32 elements, and
#: at 200,704 (784 x 256) axpy took 14 us against NumPy's 40 us).
MIN_SIZE = 1 << 15

_Axpy = Callable[[int, float, int, int, int, int], None]
_routines: dict[np.dtype, _Axpy] | None = None


def axpy(alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray) -> None:
    """y += alpha * x in place (y and x of one shape and dtype; they must not overlap).

    ``scratch`` (shaped like y) holds ``alpha * x`` when NumPy computes it; its contents are
    undefined afterwards.
    """
    if y.size >= MIN_SIZE:
        routine = _routine(y.dtype)
        if (
            routine is not None
            and x.dtype == y.dtype
            and x.shape == y.shape
            and x.flags.c_contiguous
            and y.flags.c_contiguous
            and y.flags.writeable
        ):
            routine(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
            return
    y += x if alpha == 1.0 else np.multiply(x, alpha, out=scratch)


def available() -> bool:
    """Whether ``axpy`` reaches the BLAS (for float32 arrays) rather than NumPy."""
    return _routine(np.dtype(np.float32)) is not None


def _routine(dtype: np.dtype) -> _Axpy | None:
    global _routines
    if _routines is None:
        _routines = _find_routines()
    return _routines.get(dtype)


_AFFIXES = [(p, s) for p in ("", "scipy_") for s in ("", "64_", "_64")]  # OpenBLAS builds
_KINDS = ((np.dtype(np.float32), "s", ctypes.c_float), (np.dtype(np.float64), "d", ctypes.c_double))


def _find_routines() -> dict[np.dtype, _Axpy]:
    """``cblas_saxpy`` and ``cblas_daxpy`` of NumPy's OpenBLAS, each checked; {} if not found."""
    library = _numpy_openblas()
    if library is None:
        return {}
    try:
        dll = ctypes.CDLL(library)
    except OSError:
        return {}
    for prefix, suffix in _AFFIXES:
        functions = [
            getattr(dll, f"{prefix}cblas_{letter}axpy{suffix}", None) for _, letter, _ in _KINDS
        ]
        if None in functions:
            continue
        # 64-bit integers: an LP64 build reads the low half of the same register
        int_t = ctypes.c_int64
        for function, (_, _, scalar) in zip(functions, _KINDS, strict=True):
            function.restype = None
            function.argtypes = [int_t, scalar, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t]
        routines = {dtype: f for f, (dtype, _, _) in zip(functions, _KINDS, strict=True)}
        return routines if all(_works(f, dtype) for dtype, f in routines.items()) else {}
    return {}


def _numpy_openblas() -> str | None:
    """The path of the OpenBLAS NumPy loaded, when threadpoolctl can tell which one it is."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    try:
        libraries = [
            lib.info() for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"
        ]
    except Exception:  # a library threadpoolctl cannot describe: leave it alone
        return None
    numpy_dir = Path(np.__file__).resolve().parent
    for info in libraries:
        if info.get("internal_api") != "openblas" or not info.get("filepath"):
            continue
        path = Path(info["filepath"]).resolve()
        bundled = numpy_dir in path.parents or path.parent.name in ("numpy.libs", ".dylibs")
        if bundled or len(libraries) == 1:
            return str(path)
    return None


def _works(function: Any, dtype: np.dtype) -> bool:
    """Whether ``function`` computes y + alpha x exactly on numbers where that is exact."""
    x = np.arange(1027, dtype=dtype)
    y = np.full_like(x, 3.0)
    try:
        function(len(y) - 1, -0.5, x.ctypes.data, 1, y.ctypes.data, 1)
    except Exception:
        return False
    expected = 3.0 - 0.5 * x
    expected[-1] = 3.0  # one element past n: left alone
    return bool(np.array_equal(y, expected))
