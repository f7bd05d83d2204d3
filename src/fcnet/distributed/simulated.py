"""Processes simulated by threads of one process, for tests: the collectives of MPI with no MPI.

Each simulated process runs in its own thread with its own model; the collectives meet at a
barrier. Sums are taken in rank order, so every simulated process gets the same numbers, and
the same numbers on every run.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from fcnet.distributed.base import Communicator


class SimulatedWorld:
    """``size`` simulated processes; :meth:`communicator` gives each its communicator.

    Parameters
    ----------
    size : int
        Number of processes.
    timeout : float
        Seconds a collective waits for the others before it fails (a test must not hang).
    """

    def __init__(self, size: int, timeout: float = 60.0) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"SimulatedWorld: expected size to be an integer >= 1, got {size!r}.")
        self.size = size
        self._barrier = threading.Barrier(size, timeout=timeout)
        self._slots: list[Any] = [None] * size
        self.aborted = False

    def communicator(self, rank: int) -> SimulatedCommunicator:
        """The communicator of process ``rank``."""
        return SimulatedCommunicator(self, rank)

    def _exchange(self, rank: int, value: Any) -> list[Any]:
        try:
            self._barrier.wait()  # everyone has read the previous exchange
            self._slots[rank] = value
            self._barrier.wait()  # everyone has written this one
            return list(self._slots)
        except threading.BrokenBarrierError:
            raise RuntimeError(
                f"simulated process {rank}: another process failed, aborted or timed out."
            ) from None


class SimulatedCommunicator(Communicator):
    """One simulated process of a :class:`SimulatedWorld`."""

    def __init__(self, world: SimulatedWorld, rank: int) -> None:
        self.world = world
        self.rank = rank
        self.size = self.local_size = world.size  # threads of one process

    def allreduce(self, array: Any) -> None:
        parts = self.world._exchange(self.rank, array.copy())  # on the array's device
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        array[...] = total

    def broadcast(self, obj: Any, root: int = 0) -> Any:
        parts = self.world._exchange(self.rank, obj if self.rank == root else None)
        return copy.deepcopy(parts[root])

    def allgather(self, obj: Any) -> list[Any]:
        return copy.deepcopy(self.world._exchange(self.rank, obj))

    def barrier(self) -> None:
        self.world._exchange(self.rank, None)

    def abort(self, code: int = 1) -> None:
        """Break every collective: the other simulated processes raise RuntimeError."""
        self.world.aborted = True
        self.world._barrier.abort()


def simulate(size: int, function: Callable[[Communicator], Any], timeout: float = 60.0) -> list:
    """Run ``function(comm)`` in ``size`` simulated processes (threads); return their results
    in rank order, or raise the exception of the lowest rank that raised one.

    ``function`` gets its process's communicator; pass it to ``fit(..., distributed=comm)``.
    """
    world = SimulatedWorld(size, timeout)
    results: list[Any] = [None] * size
    errors: list[BaseException | None] = [None] * size

    def run(rank: int) -> None:
        try:
            results[rank] = function(world.communicator(rank))
        except BaseException as exc:
            errors[rank] = exc
            world._barrier.abort()  # nobody waits for a process that is gone

    threads = [threading.Thread(target=run, args=(rank,), daemon=True) for rank in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results
