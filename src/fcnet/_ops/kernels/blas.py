"""The matrix product as a compiled kernel: the BLAS's ``cblas_?gemm`` called from Numba.

``C <- alpha op(A) op(B) + beta C`` in the BLAS NumPy computes with (the OpenBLAS ``fcnet._blas``
finds and checks), with the BLAS's own threads, so the numbers are those of ``np.matmul`` with
the same library. What it saves is the call: NumPy's ``matmul`` costs about 1.8 us before the
BLAS starts and a ``ctypes`` call (the only way to reach ``beta``) about 3.5 us, where a Numba
call costs about 0.4 us; a training step of a small network makes eight products.

The loader (:mod:`fcnet._ops.kernels.loader`) makes the library's symbols known to the compiler
and sets :data:`fcnet._ops.kernels.jit.GEMM_SYMBOLS` before this module is imported; without
them (another BLAS) this module is not imported and NumPy's ``matmul`` is used.

Arrays are row-major and C-contiguous (op(A) is A read transposed, not a transposed view), of
one float dtype; the caller checks the shapes (a wrong one would make the BLAS read outside the
arrays) and that no dimension is 0.
"""

from __future__ import annotations

import numpy as np
from numba import types

from fcnet._ops.kernels import jit as _jit

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # the CBLAS enumerations


def _declare(symbol: str, scalar: types.Type) -> types.ExternalFunction:
    """``cblas_?gemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)``
    with 64-bit dimensions (an LP64 build reads the low half of the same register or stack
    slot, as in ``fcnet._blas``)."""
    i32, i64, ptr = types.int32, types.int64, types.voidptr
    signature = types.void(
        i32, i32, i32, i64, i64, i64, scalar, ptr, i64, ptr, i64, scalar, ptr, i64
    )
    return types.ExternalFunction(symbol, signature)


_sgemm = _declare(_jit.GEMM_SYMBOLS[0], types.float32)
_dgemm = _declare(_jit.GEMM_SYMBOLS[1], types.float64)


@_jit.jit
def gemm(A, B, C, alpha, beta, trans_a, trans_b):
    """C <- alpha op(A) op(B) + beta C; op(A) (M, K), op(B) (K, N), C (M, N)."""
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    ta = np.int32(_TRANS if trans_a else _NO_TRANS)
    tb = np.int32(_TRANS if trans_b else _NO_TRANS)
    order = np.int32(_ROW_MAJOR)
    lda, ldb = A.shape[1], B.shape[1]
    if C.itemsize == 4:
        alpha32, beta32 = np.float32(alpha), np.float32(beta)
        _sgemm(order, ta, tb, M, N, K, alpha32, A.ctypes, lda, B.ctypes, ldb, beta32, C.ctypes, N)
    else:
        alpha64, beta64 = np.float64(alpha), np.float64(beta)
        _dgemm(order, ta, tb, M, N, K, alpha64, A.ctypes, lda, B.ctypes, ldb, beta64, C.ctypes, N)
