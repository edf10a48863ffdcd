"""The play order of a lane stream: which recording each lane plays at each step of an epoch.

For epoch ``e`` the recordings are shuffled by ``numpy.random.default_rng([seed, e])``. Walking
that order, each recording goes to the lane that becomes free first (fewest windows so far, ties
to the lower lane), exactly as if lanes picked up the next recording when theirs ended. The
schedule depends only on (seed, epoch, the recordings' window counts), so the stream is a pure
function of ``(epoch, step)``: resuming is exact, and shards (disjoint sets of lanes) see the same
windows the unsharded stream puts in their lanes. An epoch has as many steps as its busiest lane
has windows. The contract is docs/streaming.md.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np


def equal_share(count: int, index: int, parts: int, what: str = "lanes", among: str = "shards") -> range:
    """Part ``index`` of ``range(count)`` cut into ``parts`` contiguous equal shares (lanes over the
    shards of a stream, replicas over input pipelines); an error unless ``parts`` divides ``count``."""
    if count % parts:
        raise ValueError(f"{what}={count} cannot be split into equal shares over {parts} {among}")
    if not 0 <= index < parts:
        raise ValueError(f"{among}: index {index} is outside 0..{parts - 1}")
    size = count // parts
    return range(index * size, (index + 1) * size)


class Schedule:
    """Which recording every global lane plays at every step.

    Args:
        n_windows: ``(n_recordings,)`` windows of each recording (its last one may be partial).
        lanes: global lanes.
        seed: the run's seed (with the epoch, it seeds the play order).
    """

    def __init__(self, n_windows: np.ndarray, lanes: int, seed: int) -> None:
        self.n_windows, self.lanes, self.seed = np.asarray(n_windows), lanes, seed
        self._plans: dict[int, list[list[int]]] = {}  # the last epoch's, asked for at every step

    def order(self, epoch: int) -> list[int]:
        """Recording indices in the play order of ``epoch``."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.n_windows)).tolist()

    def lane_plans(self, epoch: int) -> list[list[int]]:
        """For each global lane, the recording indices it plays in ``epoch``, in order."""
        plans = self._plans.get(epoch)
        if plans is None:
            free = [(0, lane) for lane in range(self.lanes)]
            plans = [[] for _ in range(self.lanes)]
            for rec in self.order(epoch):
                windows, lane = heapq.heappop(free)
                plans[lane].append(rec)
                heapq.heappush(free, (windows + int(self.n_windows[rec]), lane))
            self._plans = {epoch: plans}
        return plans

    def steps_in_epoch(self, epoch: int) -> int:
        return max(int(self.n_windows[plan].sum()) if plan else 0 for plan in self.lane_plans(epoch))

    def ends(self, plan: Sequence[int]) -> np.ndarray:
        """The step after the last window of each recording of a lane's ``plan``."""
        return np.cumsum(self.n_windows[list(plan)])

    def locate(self, plan: Sequence[int], step: int, ends: np.ndarray | None = None) -> tuple[int | None, int | None]:
        """(index in ``plan``, window within that recording) played at ``step``, or (None, None)."""
        ends = self.ends(plan) if ends is None else ends
        slot = int(np.searchsorted(ends, step, side="right"))
        if slot >= len(plan):
            return None, None
        return slot, int(step - (ends[slot - 1] if slot else 0))

    def position(self, epoch: int, step: int, ids: Sequence[str]) -> dict:
        """JSON-serialisable position of the batch ``step`` of ``epoch`` (the next one to play).

        Holds ``epoch``, ``step``, the epoch's ``order`` (recording ``ids``) and, per global lane,
        the index of its ``recording`` in its plan and the ``window`` within it (both ``None`` once
        the lane is done). A position at the end of an epoch is the start of the next.
        """
        if step >= self.steps_in_epoch(epoch):
            epoch, step = epoch + 1, 0
        lanes = []
        for plan in self.lane_plans(epoch):
            slot, window = self.locate(plan, step)
            lanes.append(
                {"recording": slot, "window": window, "recording_id": None if slot is None else ids[plan[slot]]}
            )
        return {"epoch": epoch, "step": step, "order": [ids[i] for i in self.order(epoch)], "lanes": lanes}
