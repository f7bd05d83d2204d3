"""The one decorator every compiled kernel of fcnet goes through.

* ``cache=True``: the machine code is written to disk at the first call and loaded by later
  processes (Numba keeps it in the package's ``__pycache__``, or, where that is read-only, in
  the user's cache directory; ``NUMBA_CACHE_DIR`` chooses another place).
* ``nogil=True``: a kernel releases the GIL, so the threads of ``predict`` run theirs at once.
* ``error_model="numpy"``: a division by zero gives inf or NaN, as in NumPy, instead of raising
  (which would also keep the loops from being vectorised).
* ``inline="always"`` for the scalar functions the kernels call (:data:`inline`): Numba puts
  their code into the kernel's before the compiler sees it, so that no call is left in a loop
  (a call keeps the loop from being vectorised, and the compiler's own inliner gives up on the
  larger kernels).
* No ``fastmath``: NaN and inf propagate as in NumPy (the divergence guard depends on it), and
  sums are added in the order written, so a kernel gives the same bits every run.
"""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, nogil=True, error_model="numpy")

#: The names of NumPy's OpenBLAS ``cblas_sgemm`` and ``cblas_dgemm``, set by the loader before
#: it imports :mod:`fcnet._ops.kernels.blas` (None: that module is not imported).
GEMM_SYMBOLS: tuple[str, str] | None = None
inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
