"""The communicator protocol, the communicator of one process, and agreement between processes.

A communicator is what data-parallel training needs from the processes it runs in: who this
process is (``rank``, ``size``), an in-place sum of an array over every process (``allreduce``),
sending an object or an array from one process to all (``broadcast``, ``broadcast_array``),
everyone's object to everyone (``allgather``), ``barrier`` and ``abort``.

Agreement: a failure that only some processes see (bad rows in their share of the data, a
callback that raises on one of them) must end training on all of them, with the same error, or
the others would wait forever in their next collective. :func:`agree` lets every process learn
whether any failed and raise the same error; :func:`abort_unless_agreed` ends the whole job when
a process fails somewhere the others cannot be told.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

_AGREED = "_fcnet_agreed"  # set on an exception every process raises at the same point


class Communicator:
    """The collectives of data-parallel training (see the module docstring).

    Attributes
    ----------
    rank : int
        This process, in [0, size).
    size : int
        The number of processes.
    """

    rank = 0
    size = 1
    #: processes of the job on this machine (they share its cores)
    local_size = 1

    def allreduce(self, array: Any) -> None:
        """``array <- sum over processes of array``, in place; every process gets the same
        numbers (the sum is taken in one order for all)."""
        raise NotImplementedError

    def broadcast(self, obj: Any, root: int = 0) -> Any:
        """``root``'s ``obj`` on every process (a small Python object)."""
        raise NotImplementedError

    def broadcast_array(self, array: np.ndarray, root: int = 0) -> None:
        """Overwrite ``array`` with ``root``'s, in place (same shape and dtype everywhere)."""
        array[...] = self.broadcast(array if self.rank == root else None, root)

    def allgather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order, on every process."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Return once every process has called it."""
        raise NotImplementedError

    def abort(self, code: int = 1) -> None:
        """End every process of the job (with MPI, ``MPI_Abort``: this call does not return)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class SingleProcess(Communicator):
    """The communicator of a process alone: every collective returns what it was given."""

    def allreduce(self, array: Any) -> None:
        """Nothing to add: the sum over one process."""

    def broadcast(self, obj: Any, root: int = 0) -> Any:
        return obj

    def broadcast_array(self, array: np.ndarray, root: int = 0) -> None:
        """Nothing to send."""

    def allgather(self, obj: Any) -> list[Any]:
        return [obj]

    def barrier(self) -> None:
        """Nobody to wait for."""

    def abort(self, code: int = 1) -> None:
        """Nothing to end but this process, whose exception is on its way up."""


class BatchShard:
    """This process's rows of a training batch, for the layers whose forward pass needs the
    whole batch: Dropout draws the mask of all ``rows`` rows and keeps rows ``offset`` to
    ``offset + m``; BatchNorm sums its statistics over every process (:meth:`allreduce`).

    ``fit`` hands it to a layer that declares a ``shard`` attribute for the duration of a
    training step (forward and backward), and sets it back to None after.
    """

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm
        self.offset = 0  # the first of this process's rows, in the batch
        self.rows = 0  # the rows of the whole batch, over every process

    def allreduce(self, array: Any) -> None:
        """``array <- sum over processes``, in place."""
        self.comm.allreduce(array)

    def __repr__(self) -> str:
        return f"BatchShard(offset={self.offset}, rows={self.rows}, comm={self.comm!r})"


def mark_agreed(exc: BaseException) -> BaseException:
    """Note that every process raises ``exc`` at the same point (no abort is needed)."""
    try:
        setattr(exc, _AGREED, True)
    except (AttributeError, TypeError):  # an exception type that refuses attributes
        pass
    return exc


def is_agreed(exc: BaseException) -> bool:
    """Whether every process raises ``exc`` (see :func:`mark_agreed`)."""
    return bool(getattr(exc, _AGREED, False))


def agree(comm: Communicator, error: Exception | None, vote: Any = None) -> list[Any]:
    """Raise, on every process, the error of the first process that failed (if any did);
    else return every process's ``vote`` (in rank order), gathered in the same call.

    Each process passes the exception it caught, or None. The process that failed first (the
    lowest rank) re-raises its own exception; every other raises one of the same type with the
    same message (or a RuntimeError with that message, for a type that cannot be rebuilt from a
    message). Each gets a note naming the process it came from.
    """
    report = None if error is None else _describe(error)
    gathered = comm.allgather((report, vote))
    failed = [(rank, r) for rank, (r, _) in enumerate(gathered) if r is not None]
    if not failed:
        return [v for _, v in gathered]
    rank, (module, name, args) = failed[0]
    mine = error is not None and rank == comm.rank
    exc: Exception = error if mine and error is not None else _rebuild(module, name, args)
    exc.add_note(f"(raised by process {rank} of {comm.size})")
    mark_agreed(exc)
    if exc is error:
        raise exc
    raise exc from error


@contextmanager
def agreed(comm: Communicator) -> Iterator[None]:
    """Run a block that touches no collective and may fail on some processes only; at its end
    every process raises the same error if any failed (see :func:`agree`)."""
    if comm.size == 1:
        yield
        return
    error = None
    try:
        yield
    except Exception as exc:
        error = exc
    agree(comm, error)


_ABORT_GRACE_S = 1.0  # seconds between printing why and aborting the job


@contextmanager
def abort_unless_agreed(comm: Communicator, who: str) -> Iterator[None]:
    """End the whole job when the block fails on this process alone.

    An exception that every process raises at the same point (marked by :func:`mark_agreed`)
    passes through. Any other (a bug, an interrupt, a failure in the middle of a step) would
    leave the other processes waiting in a collective forever, so its traceback is printed and
    ``comm.abort(1)`` ends every process.
    """
    try:
        yield
    except BaseException as exc:
        if comm.size > 1 and not is_agreed(exc):
            text = "".join(traceback.format_exception(exc))
            print(
                f"{who}: process {comm.rank} of {comm.size} failed where the others cannot be "
                f"told; ending every process of the job.\n{text}",
                file=sys.stderr,
                flush=True,
            )
            # the launcher forwards a process's output asynchronously, and an abort can end
            # the forwarding before the message is out: give it a moment
            time.sleep(_ABORT_GRACE_S)
            comm.abort(1)
        raise


def _describe(error: Exception) -> tuple[str, str, tuple[Any, ...]]:
    kind = type(error)
    simple = all(isinstance(a, str | int | float | bool | None) for a in error.args)
    return kind.__module__, kind.__qualname__, (error.args if simple else (str(error),))


def _rebuild(module: str, name: str, args: tuple[Any, ...]) -> Exception:
    """An exception of the named type (from a module already imported) with ``args``; a
    RuntimeError with its message when the type cannot be made so."""
    kind: Any = sys.modules.get(module)
    for part in name.split("."):
        kind = getattr(kind, part, None)
    message = str(args[0]) if len(args) == 1 else str(args)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(*args)
        except Exception:  # a constructor that wants other arguments
            pass
    return RuntimeError(message)
