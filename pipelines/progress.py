"""Training progress for a person watching: a bar on a terminal, a plain line now and then in a log.

On a terminal (``stream.isatty()``) a tqdm bar redraws at most every 0.2 s. In a log file
(``docker logs``, CI, ``> run.log``) redrawn bars become one line per update, so instead a plain
line is written every ``interval`` seconds and once at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

TERMINAL_REFRESH_S = 0.2


class StepProgress:
    """Progress of ``total`` steps, starting after ``initial`` (a resumed run).

    Args:
        total, initial: steps of the whole run and steps already done.
        enabled: False writes nothing.
        stream: where to write (default ``sys.stderr``).
        interval: seconds between plain lines in a log file.
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self,
        total: int,
        initial: int = 0,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = sys.stderr if stream is None else stream
        self.total, self.done, self.enabled = total, initial, enabled
        self.interval, self.clock = interval, clock
        self._bar = None
        if enabled and self.stream.isatty():
            self._bar = tqdm(
                total=total, initial=initial, unit="step", file=self.stream, mininterval=TERMINAL_REFRESH_S
            )
        self._started = self._last_line = clock()
        self._initial = initial
        self._values: dict[str, str] = {}
        self._written = initial

    def update(self, **values: str) -> None:
        """One step done; ``values`` (e.g. ``loss="0.4321"``) are shown with the next redraw or line."""
        self.done += 1
        self._values = values
        if self._bar is not None:
            # refresh=False: set_postfix would otherwise redraw at every step, whatever mininterval says.
            self._bar.set_postfix(values, refresh=False)
            self._bar.update()
        elif self.enabled and self.clock() - self._last_line >= self.interval:
            self._line()

    def _line(self) -> None:
        now = self.clock()
        elapsed = now - self._started
        rate = (self.done - self._initial) / elapsed if elapsed > 0 else 0.0
        remaining = f", {(self.total - self.done) / rate:.0f} s left" if rate > 0 and self.done < self.total else ""
        shown = "".join(f" {key}={value}" for key, value in self._values.items())
        self.stream.write(
            f"step {self.done}/{self.total} ({self.done / max(self.total, 1):.0%}) "
            f"{elapsed:.0f} s, {rate:.2f} step/s{remaining}{shown}\n"
        )
        self.stream.flush()
        self._last_line, self._written = now, self.done

    def close(self) -> None:
        """Finish the bar, or write the last line if steps were done since the previous one."""
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.done > self._written:
            self._line()
