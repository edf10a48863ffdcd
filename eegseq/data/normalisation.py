"""Per-channel normalisation statistics, computed in one streaming pass over store files.

Blocks are merged with Chan et al.'s pairwise update of (count, mean, M2), in float64, so the
result equals NumPy's mean/std over all valid samples at once, in memory bounded by one block.
Drop-out samples (``valid == 0`` in the store) are excluded: their zeros are not signal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegseq.data.store import StoreReader
from eegseq.files import atomic_write_json

_ROWS_PER_GROUP = 1024


@dataclass(frozen=True)
class ChannelStats:
    """Per-channel statistics of a training split.

    Attributes:
        channels: channel names, in column order.
        mean: per-channel mean, µV, float64 ``(n_channels,)``.
        std: per-channel population standard deviation (ddof 0), µV, ``(n_channels,)``.
        count: number of valid samples the statistics were computed on.
    """

    channels: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    count: int
    _float32_operands: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def apply(self, signal: np.ndarray, *, out: np.ndarray | None = None, min_std: float = 1e-6) -> np.ndarray:
        """``(signal - mean) / std`` per channel as float32, shape ``(..., n_channels)``.

        ``out`` (may be ``signal`` itself, float32) receives the result without a temporary array.
        """
        mean, scale, mean_rows, scale_rows = self._operands(min_std)
        out = np.empty(signal.shape, np.float32) if out is None else out
        grouped = 0
        if signal.ndim == 2 and signal.flags.c_contiguous and out.flags.c_contiguous:
            # NumPy broadcasts a (C,) operand over (n, C) with C-element inner loops; seen as rows
            # of _ROWS_PER_GROUP * C elements the same arithmetic runs about 3x faster.
            grouped = signal.shape[0] // _ROWS_PER_GROUP * _ROWS_PER_GROUP
            source = signal[:grouped].reshape(-1, _ROWS_PER_GROUP * signal.shape[1])
            target = out[:grouped].reshape(source.shape)
            np.subtract(source, mean_rows, out=target)
            np.multiply(target, scale_rows, out=target)
        np.subtract(signal[grouped:], mean, out=out[grouped:])
        np.multiply(out[grouped:], scale, out=out[grouped:])
        return out

    def _operands(self, min_std: float) -> tuple[np.ndarray, ...]:
        """float32 mean and 1 / std, ``(n_channels,)``, and both tiled over ``_ROWS_PER_GROUP`` rows;
        made once (a stream normalises every window: rebuilding them cost ~10 % of the work)."""
        if min_std not in self._float32_operands:
            mean, scale = self.mean.astype(np.float32), (1.0 / np.maximum(self.std, min_std)).astype(np.float32)
            self._float32_operands[min_std] = (
                mean,
                scale,
                np.tile(mean, _ROWS_PER_GROUP),
                np.tile(scale, _ROWS_PER_GROUP),
            )
        return self._float32_operands[min_std]

    def to_json(self) -> dict:
        return {
            "channels": list(self.channels),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "count": self.count,
        }

    @classmethod
    def from_json(cls, data: dict) -> ChannelStats:
        mean, std = np.asarray(data["mean"], dtype=np.float64), np.asarray(data["std"], dtype=np.float64)
        if mean.shape != std.shape or mean.shape != (len(data["channels"]),):
            raise ValueError(
                f"normalisation stats: {len(data['channels'])} channels but mean {mean.shape}, std {std.shape}"
            )
        return cls(tuple(data["channels"]), mean, std, int(data["count"]))

    def save(self, path: str | os.PathLike) -> Path:
        """Write as JSON atomically."""
        return atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> ChannelStats:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: not a normalisation statistics file ({exc})") from exc


def compute_channel_stats(store_paths: Iterable[str | os.PathLike], block_samples: int = 1 << 18) -> ChannelStats:
    """Mean and std per channel over every valid sample of the given store files.

    Args:
        store_paths: store files of the training split (all with the same channels).
        block_samples: samples read at a time; memory is ``block_samples x n_channels`` floats.
    """
    count, mean, m2, channels = 0, None, None, None
    for path in store_paths:
        with StoreReader(path) as store:
            if channels is None:
                channels = store.channels
                mean, m2 = np.zeros(store.n_channels), np.zeros(store.n_channels)
            elif store.channels != channels:
                raise ValueError(f"{path}: channels {store.channels} differ from {channels} of the first store")
            for start in range(0, store.n_samples, block_samples):
                stop = min(start + block_samples, store.n_samples)
                block = store.read(start, stop)[store.read_valid(start, stop)].astype(np.float64)
                if block.shape[0] == 0:
                    continue
                n_b, mean_b = block.shape[0], block.mean(axis=0)
                m2_b = ((block - mean_b) ** 2).sum(axis=0)
                total = count + n_b
                delta = mean_b - mean
                mean = mean + delta * (n_b / total)
                m2 = m2 + m2_b + delta**2 * (count * n_b / total)
                count = total
    if channels is None or count == 0:
        raise ValueError("normalisation statistics need at least one store file with valid samples")
    return ChannelStats(channels, mean, np.sqrt(m2 / count), count)
