"""The communicator of processes started by an MPI launcher (``mpiexec -n 4 python train.py``),
through mpi4py, imported only when one is made."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fcnet.distributed.base import Communicator

#: Variables that MPI launchers set in every process they start: the world size.
#: MPICH's Hydra, Intel MPI and Slurm's srun (PMI), Open MPI, MVAPICH.
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
#: ... and the number of them on this machine.
LOCAL_SIZE_VARIABLES = (
    "MPI_LOCALNRANKS",
    "OMPI_COMM_WORLD_LOCAL_SIZE",
    "MV2_COMM_WORLD_LOCAL_SIZE",
)


def launched_size() -> int:
    """The number of processes an MPI launcher started this one among (1 when none did), read
    from the launcher's environment variables without importing MPI."""
    return _from_environment(SIZE_VARIABLES)


def launched_local_size() -> int:
    """How many of them run on this machine (1 when the launcher does not say)."""
    return _from_environment(LOCAL_SIZE_VARIABLES)


def _from_environment(names: tuple[str, ...]) -> int:
    for name in names:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return 1


def import_mpi() -> Any:
    """mpi4py's ``MPI`` module, or an ImportError saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            "fcnet.distributed: training over MPI needs mpi4py: "
            'pip install "fcnet[mpi]" (and an MPI library: the cluster\'s own, or '
            "pip install mpich)."
        ) from exc
    return MPI


class MPICommunicator(Communicator):
    """Collectives over an MPI communicator (mpi4py).

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Default: ``MPI.COMM_WORLD``, every process the launcher started.

    Notes
    -----
    Arrays are reduced in place (``MPI.IN_PLACE``) with ``MPI.SUM``; MPICH and Open MPI give
    every process the same sum, and the same sum on every run with the same number of
    processes. An array that is not a C-contiguous NumPy array (a GPU array) goes through a host
    copy.
    """

    def __init__(self, comm: Any = None) -> None:
        MPI = import_mpi()
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = int(self.comm.Get_rank())
        self.size = int(self.comm.Get_size())
        self.local_size = min(launched_local_size(), self.size)

    def allreduce(self, array: Any) -> None:
        if self.size == 1:
            return
        MPI = self._MPI
        if isinstance(array, np.ndarray) and array.flags.c_contiguous:
            self.comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
            return
        device = not isinstance(array, np.ndarray) and hasattr(array, "get")  # CuPy's
        host = np.ascontiguousarray(array.get() if device else np.asarray(array))
        self.comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
        if device and array.flags.c_contiguous:
            array.set(host)
        else:
            array[...] = host

    def broadcast(self, obj: Any, root: int = 0) -> Any:
        return self.comm.bcast(obj, root=root)

    def broadcast_array(self, array: np.ndarray, root: int = 0) -> None:
        if isinstance(array, np.ndarray) and array.flags.c_contiguous:
            self.comm.Bcast(array, root=root)
        else:
            super().broadcast_array(array, root)

    def allgather(self, obj: Any) -> list[Any]:
        return list(self.comm.allgather(obj))

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        self.comm.Abort(code)
