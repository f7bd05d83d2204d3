"""Two BLAS routines NumPy does not expose, called in the BLAS NumPy computes with, where it can
be found: ``axpy`` (y <- y + alpha x) and ``gemm`` with its two scalars (C <- alpha A B + beta C).

NumPy has no fused multiply-add for arrays: ``p -= lr * g`` is two passes in one thread (a
scratch ``lr * g``, then the subtraction). The BLAS's ``axpy`` makes one pass, shared between the
BLAS's own threads, the ones that computed ``g`` a moment ago. Measured on 2 cores (784-256-128-10,
plain SGD, a two-thread BLAS in ``fit``): the weight update of a step took 55-74 us against
105-135 us, 10% of a step at batch 32.

Only OpenBLAS is used, and only the copy NumPy itself loaded (waking another library's thread
pool would make two pools compete for the cores); its ``cblas_?axpy`` and ``cblas_?gemm`` are
looked up under the symbol names OpenBLAS builds use (``scipy_`` prefix, ``64_`` suffix for
NumPy's wheels) and checked on small examples before they are trusted. Anything else (another
BLAS, arrays that are not contiguous, small arrays where the foreign call costs more than it
saves) takes NumPy's two passes. The results are the same up to rounding: ``axpy`` may round
``y + alpha x`` once (a fused multiply-add) where NumPy rounds ``alpha x`` first.

``gemm`` lets a plain SGD step write the weights straight from the product that is their gradient,
``W <- W - lr X^T dZ`` (``alpha = -lr``, ``beta = 1``), so that ``dW`` is never stored and read
back: the product's own threads do the update. Measured on 2 cores (784-256-128-10, ``fit``
with plain SGD, side by side against dW followed by ``axpy``): 11-21% more samples/s at batch
32, about 5% at batch 128, 0-2% at batch 1024. Where the routine cannot be had, :func:`gemm`
does nothing and says so, and the caller computes with NumPy.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

#: Below this many elements the two NumPy passes are cheaper than the foreign call (about 3.5 us
#: through ctypes; measured on 2 cores, the two break even near 32,768 float32 elements, and
#: at 200,704 (784 x 256) axpy took 14 us against NumPy's 40 us).
MIN_SIZE = 1 << 15

_Routine = Callable[..., None]
#: ("axpy" or "gemm", dtype) -> the checked routine; {} when none could be had
_routines: dict[tuple[str, np.dtype], _Routine] | None = None

# CBLAS enumerations (int-sized in every CBLAS header)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def axpy(alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray) -> None:
    """y += alpha * x in place (y and x of one shape and dtype; they must not overlap).

    ``scratch`` (shaped like y) holds ``alpha * x`` when NumPy computes it; its contents are
    undefined afterwards.
    """
    if y.size >= MIN_SIZE:
        routine = _routine("axpy", y.dtype)
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


def gemm(
    alpha: float,
    A: np.ndarray,
    B: np.ndarray,
    beta: float,
    C: np.ndarray,
    *,
    trans_a: bool = False,
) -> bool:
    """C <- alpha op(A) B + beta C in place, through the BLAS's ``gemm``; returns whether it did.

    op(A) is A, or A^T with ``trans_a`` (no view is made: the BLAS reads A transposed).
    op(A) (M, K), B (K, N) and C (M, N) share one dtype. A and B may be row-major arrays or
    transposed views of them (``P.T``); the rows of C must be contiguous. C must not overlap A
    or B. Returns False, with C unchanged, when the routine is not available or an array's
    layout does not suit it (strided columns, an empty dimension, a read-only C); the caller then
    computes with NumPy.
    """
    routine = _routine("gemm", C.dtype)
    return routine is not None and _call_gemm(routine, alpha, A, B, beta, C, trans_a)


def _call_gemm(
    routine: _Routine,
    alpha: float,
    A: np.ndarray,
    B: np.ndarray,
    beta: float,
    C: np.ndarray,
    trans_a: bool = False,
) -> bool:
    if A.dtype != C.dtype or B.dtype != C.dtype or not C.flags.writeable:
        return False
    a, b, c = _operand(A), _operand(B), _operand(C)
    if a is None or b is None or c is None or c[1] != _NO_TRANS:
        return False
    (M, K), (K_b, N) = (A.shape[::-1] if trans_a else A.shape), B.shape
    if C.shape != (M, N) or K_b != K or 0 in (M, N, K):
        return False
    trans = a[1] if not trans_a else _TRANS if a[1] == _NO_TRANS else _NO_TRANS
    routine(_ROW_MAJOR, trans, b[1], M, N, K, alpha, a[0], a[2], b[0], b[2], beta, c[0], c[2])
    return True


#: id(array) -> (weak reference, shape, strides, (address, NoTrans/Trans, leading dimension)).
#: A training step hands the same arrays every time, and reading an array's address through
#: NumPy costs about 1 us; the weak reference drops the entry when the array goes.
_operands: dict[int, tuple[Any, tuple[int, ...], tuple[int, ...], tuple[int, int, int]]] = {}
_MAX_OPERANDS = 256


def _operand(M: np.ndarray) -> tuple[int, int, int] | None:
    """(address, NoTrans or Trans, leading dimension) of the 2-D array M for a row-major BLAS
    (see :func:`_layout`), or None."""
    key = id(M)
    entry = _operands.get(key)
    if entry is not None and entry[0]() is M and entry[1] == M.shape and entry[2] == M.strides:
        return entry[3]
    layout = _layout(M)
    if layout is None:
        return None
    operand = (M.ctypes.data, *layout)
    if len(_operands) >= _MAX_OPERANDS:
        _operands.clear()
    _operands[key] = (weakref.ref(M, partial(_forget_operand, key)), M.shape, M.strides, operand)
    return operand


def _forget_operand(key: int, ref: Any) -> None:
    entry = _operands.get(key)
    if entry is not None and entry[0] is ref:
        _operands.pop(key, None)  # another thread may have cleared the table meanwhile


def _layout(M: np.ndarray) -> tuple[int, int] | None:
    """How a row-major BLAS reads the 2-D array M: (NoTrans, row stride) for rows of contiguous
    elements, (Trans, column stride) for a transposed view of such an array, None otherwise."""
    if M.ndim != 2 or not M.flags.aligned:
        return None
    rows, cols = M.shape
    size = M.itemsize
    s0, s1 = M.strides
    if s1 == size or cols == 1:
        if rows == 1:
            return _NO_TRANS, cols
        if s0 > 0 and s0 % size == 0 and s0 // size >= cols:
            return _NO_TRANS, s0 // size
    if s0 == size or rows == 1:
        if cols == 1:
            return _TRANS, rows
        if s1 > 0 and s1 % size == 0 and s1 // size >= rows:
            return _TRANS, s1 // size
    return None


def available(name: str = "axpy", dtype: Any = np.float32) -> bool:
    """Whether ``axpy`` (or ``gemm``) reaches the BLAS for arrays of ``dtype``."""
    return _routine(name, np.dtype(dtype)) is not None


def _routine(name: str, dtype: np.dtype) -> _Routine | None:
    global _routines
    if _routines is None:
        _routines = _find_routines()
    return _routines.get((name, dtype))


_AFFIXES = [(p, s) for p in ("", "scipy_") for s in ("", "64_", "_64")]  # OpenBLAS builds
_KINDS = ((np.dtype(np.float32), "s"), (np.dtype(np.float64), "d"))
_SCALARS = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}


def _find_routines() -> dict[tuple[str, np.dtype], _Routine]:
    """``cblas_?axpy`` and ``cblas_?gemm`` of NumPy's OpenBLAS, each checked; {} if not found."""
    library = _numpy_openblas()
    if library is None:
        return {}
    try:
        dll = ctypes.CDLL(library)
    except OSError:
        return {}
    # 64-bit integers: an LP64 build reads the low half of the same register or stack slot
    int_t, enum_t, ptr = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    for prefix, suffix in _AFFIXES:
        symbols = {
            (name, dtype): f"{prefix}cblas_{letter}{name}{suffix}"
            for name in ("axpy", "gemm")
            for dtype, letter in _KINDS
        }
        functions = {key: getattr(dll, symbol, None) for key, symbol in symbols.items()}
        if None in functions.values():
            continue
        for (name, dtype), function in functions.items():
            scalar = _SCALARS[dtype]
            function.restype = None
            if name == "axpy":
                function.argtypes = [int_t, scalar, ptr, int_t, ptr, int_t]
            else:
                function.argtypes = [enum_t] * 3 + [int_t] * 3 + [scalar, ptr, int_t, ptr, int_t]
                function.argtypes += [scalar, ptr, int_t]
        checks = {"axpy": _axpy_works, "gemm": _gemm_works}
        return {key: f for key, f in functions.items() if checks[key[0]](f, key[1])}
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


def _axpy_works(function: Any, dtype: np.dtype) -> bool:
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


def _gemm_works(function: Any, dtype: np.dtype) -> bool:
    """Whether ``function`` computes alpha A^T B + beta C exactly on small integers, with a
    transposed A and leading dimensions larger than the rows, writing nothing outside C."""
    A = np.arange(1.0, 29.0, dtype=dtype).reshape(4, 7)[:, :3]  # read transposed: (3, 4), ld 7
    B = np.arange(-6.0, 24.0, dtype=dtype).reshape(5, 6)[:4, 1:3]  # (4, 2), ld 6
    storage = np.full((3, 5), 2.0, dtype=dtype)
    C = storage[:, 1:3]  # (3, 2), ld 5
    expected = storage.copy()
    expected[:, 1:3] = -2.0 * (A.T @ B) + 0.5 * C
    try:
        ran = _call_gemm(function, -2.0, A, B, 0.5, C, trans_a=True)
    except Exception:
        return False
    return ran and bool(np.array_equal(storage, expected))
