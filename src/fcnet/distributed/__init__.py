"""Synchronous data-parallel training over processes (MPI through mpi4py).

``fit(..., distributed=True)`` run by every process of ``mpiexec -n N python train.py`` trains
one model on all of them: ``batch_size`` is the global batch, each process computes the
gradient of its rows of every batch (the same shuffled order on every process, drawn from the
same seed), one in-place Allreduce per step sums the flat gradient buffer over the processes,
and every process applies the same update. The losses are scaled by the global row count (or
weight sum), so N processes train the model one process trains, up to rounding::

    gradient of a batch B = sum over processes p of  sum over rows i of B on p  dL_i/dtheta / |B|

Every process holds the same parameters after every step. Dropout draws the mask of the whole
batch on every process and keeps its rows; BatchNorm's mean and variance are those of the whole
batch (sums reduced over the processes). Validation is split between the processes and its
outputs gathered; the callbacks see the same logs everywhere, and those with side effects
(``CSVLogger``, printing) act on process 0 only, which alone writes checkpoints.

Functions here: :func:`init` (the MPI world), :func:`rank`, :func:`size`, :func:`is_main`,
:func:`barrier`, :func:`auto` (MPI when a launcher started several processes, else None).
Communicators: :class:`MPICommunicator`, :class:`SingleProcess`, and :func:`simulate`, which
runs processes as threads of one process for tests.
"""

from __future__ import annotations

import warnings
from typing import Any

from fcnet.distributed.base import (
    BatchShard,
    Communicator,
    SingleProcess,
    abort_unless_agreed,
    agree,
    agreed,
    is_agreed,
    mark_agreed,
)
from fcnet.distributed.mpi import MPICommunicator, import_mpi, launched_size
from fcnet.distributed.simulated import SimulatedCommunicator, SimulatedWorld, simulate

__all__ = [
    "BatchShard",
    "Communicator",
    "MPICommunicator",
    "SimulatedCommunicator",
    "SimulatedWorld",
    "SingleProcess",
    "abort_unless_agreed",
    "agree",
    "agreed",
    "auto",
    "barrier",
    "communicator_for",
    "import_mpi",
    "init",
    "is_agreed",
    "is_main",
    "launched_size",
    "mark_agreed",
    "rank",
    "simulate",
    "size",
]

# The MPI world once init() made it: MPI is initialised once per process, and rank() and
# size() answer for it from then on.
_world: list[Communicator] = []


def init(comm: Any = None) -> Communicator:
    """The communicator of every process the MPI launcher started (``MPI.COMM_WORLD``, or
    ``comm``, an mpi4py communicator), made once per process; imports mpi4py.

    Raises
    ------
    ImportError
        mpi4py is not installed (``pip install "fcnet[mpi]"``).
    """
    if comm is not None:
        return MPICommunicator(comm)
    if not _world:
        _world.append(MPICommunicator())
    return _world[0]


def _current() -> Communicator:
    if _world:
        return _world[0]
    if launched_size() > 1:
        return init()
    return SingleProcess()


def rank() -> int:
    """This process's rank in the MPI world (0 when no launcher started several processes)."""
    return _current().rank


def size() -> int:
    """The number of processes in the MPI world (1 when no launcher started several)."""
    return _current().size


def is_main() -> bool:
    """True on process 0, the one that prints and writes files."""
    return _current().rank == 0


def barrier() -> None:
    """Wait until every process of the MPI world has called it (nothing in one process)."""
    _current().barrier()


def auto() -> Communicator | None:
    """The MPI world when a launcher started more than one process (``mpiexec -n 4 ...``),
    else None: what the command line passes to ``fit(distributed=...)``."""
    if launched_size() > 1:
        comm = init()
        return comm if comm.size > 1 else None
    return None


def communicator_for(distributed: Any, who: str = "fit") -> Communicator | None:
    """The communicator that ``fit(distributed=...)`` trains over, or None for one process.

    ``True``: the MPI world (:func:`init`); a :class:`Communicator`: that one; ``False``: one
    process. ``None`` (the default): one process, with a warning when an MPI launcher started
    several (each would then train its own copy of the model on all the data). A communicator
    of one process is the same as one process.
    """
    if distributed is None:
        n = launched_size()
        if n > 1:
            warnings.warn(
                f"{who}: this process is one of {n} started by an MPI launcher, but fit was "
                "called without distributed=True, so each process trains its own copy of the "
                "model on all of the data. Pass distributed=True to train one model over the "
                "processes (or distributed=False to train each alone without this warning).",
                UserWarning,
                stacklevel=4,
            )
        return None
    if distributed is False:
        return None
    if distributed is True:
        comm = init()
    elif isinstance(distributed, Communicator):
        comm = distributed
    else:
        raise TypeError(
            f"{who}: expected distributed to be True, False, None or a "
            f"fcnet.distributed.Communicator, got {type(distributed).__name__}."
        )
    return comm if comm.size > 1 else None
