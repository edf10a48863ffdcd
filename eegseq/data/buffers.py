"""Batch memory for the lane stream: 64-byte aligned arrays, recycled once nothing refers to them."""

from __future__ import annotations

import sys

import numpy as np


class RecycledArrays:
    """Uninitialised aligned float32 arrays of one shape, each handed out again only once nothing
    else refers to it.

    A batch's signal goes to a consumer that may keep it (TensorFlow adopts it without a copy
    and holds it until the step is done). Taking back the memory of batches no one holds any
    more spares the page faults of a fresh allocation (a few ms per 12 MB batch). An array is
    free when only this pool refers to it and to its memory (views of it refer to that memory).
    """

    # 4: in a tf.data pipeline one group is being filled (by the worker of tfdata.produced_ahead),
    # one is ready in its queue, one is being split into steps (views of it, so it is held until
    # its last step has been consumed), and the previous one may still be referenced; past that
    # a fresh array is allocated
    def __init__(self, shape: tuple[int, ...], capacity: int = 4) -> None:
        self.shape, self.capacity = shape, capacity
        self._arrays: list[np.ndarray] = []

    def take(self) -> np.ndarray:
        for array in self._arrays:
            # references when free: the list, ``array`` and getrefcount's argument; the memory's
            # owner: ``array.base`` and the argument
            if sys.getrefcount(array) == 3 and sys.getrefcount(array.base) == 2:
                return array
        array = aligned_empty(self.shape)
        if len(self._arrays) < self.capacity:
            self._arrays.append(array)
        return array


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype = np.float32, alignment: int = 64) -> np.ndarray:
    """An uninitialised C-contiguous array whose data start at a multiple of ``alignment`` bytes.

    TensorFlow adopts the memory of an ndarray aligned to its 64-byte boundary without copying it
    (``tf.data.Dataset.from_generator``, ``tf.convert_to_tensor``); NumPy only guarantees 16.
    """
    itemsize = np.dtype(dtype).itemsize
    nbytes = int(np.prod(shape)) * itemsize
    raw = np.empty(nbytes + alignment, np.uint8)
    offset = -raw.ctypes.data % alignment
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)
