"""A run's progress bar on a terminal (rich); nothing when the output is not a terminal."""

from __future__ import annotations

from .plan import BLOCKED, CACHED, DONE, FAILED, RUNNING


class Progress:
    """A progress bar on the terminal (rich): nodes ended out of all, and how many were cached."""

    def __init__(self, total: int, cached: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self._p = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True), transient=True)
        self._task = self._p.add_task("steps", total=total, completed=cached)
        self._p.start()

    def update(self, counts: dict[str, int]) -> None:
        """Show counts (by status) now."""
        ended = sum(counts.get(k, 0) for k in (CACHED, DONE, FAILED, BLOCKED))
        self._p.update(self._task, completed=ended,
                       description=f"steps ({counts.get(RUNNING, 0)} running, {counts.get(FAILED, 0)} failed)")

    def close(self) -> None:
        """Remove the bar."""
        self._p.stop()
