"""Kaggle seizure-prediction segments (``.mat``): the 2016 Melbourne layout and the 2014 AES layout.

Both are MATLAB structs. MATLAB v5/v7 files are read with :func:`scipy.io.loadmat`; v7.3 files are
HDF5 and are read with h5py. MATLAB stores arrays column-major and v7.3 writes that memory as is, so
h5py sees every array with its axes reversed: a MATLAB ``240000 x 16`` matrix is a ``(16, 240000)``
dataset. The reader transposes v7.3 arrays back to MATLAB's axis order before using them.

2016 (``dataStruct``): ``data`` is ``(nSamplesSegment, 16)``, time first; ``iEEGsamplingRate`` (Hz);
``channelIndices`` (1-based electrode numbers; channels are named ``ch01`` ... ``ch16``);
``sequence`` (1-6, position in its one-hour series; training files only). File name
``I_J_K.mat`` = patient I, segment J, label K (1 preictal, 0 interictal); test files ``I_J.mat`` and
``new_I_J.mat`` have no label.

2014 (one struct named like ``preictal_segment_1``): ``data`` is ``(n_channels, n_samples)``,
channels first; ``data_length_sec``; ``sampling_frequency`` (Hz); ``channels`` (names);
``sequence`` (training files only). File name ``{Dog_N,Patient_N}_{preictal,interictal,test}_segment_NNNN.mat``.

Kaggle does not state a unit; the values are stored as they are, taken to be microvolts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from eegseq.data.errors import RecordingError
from eegseq.data.readers.policy import usable_channels
from eegseq.data.readers.source import OpenedFile

_NAME_2016 = re.compile(r"^(?P<new>new_)?(?P<patient>\d+)_(?P<segment>\d+)(?:_(?P<label>[01]))?\.mat$", re.I)
_NAME_2014 = re.compile(
    r"^(?P<subject>(?:Dog|Patient)_\d+)_(?P<kind>preictal|interictal|test)_segment_(?P<segment>\d+)\.mat$", re.I
)
_STRUCT_2014 = re.compile(r"^(preictal|interictal|test)_segment_\d+$")
_LABEL_2014 = {"preictal": 1, "interictal": 0, "test": None}


def _h5_value(file: h5py.File, node: h5py.Dataset) -> np.ndarray | list[str]:
    """A v7.3 dataset in MATLAB's axis order; a char array becomes a string, a cell array a list."""
    matlab_class = node.attrs.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    value = node[()]
    if matlab_class == "cell":
        return [_h5_value(file, file[ref]) for ref in np.asarray(value).T.ravel()]
    if matlab_class == "char":
        return "".join(chr(code) for code in np.asarray(value).T.ravel())
    return np.asarray(value).T


def _load_struct(path: Path) -> tuple[str, dict]:
    """The single top-level struct of a ``.mat`` file: ``(name, {field: value})`` in MATLAB axis order."""
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as file:
            names = [key for key in file if not key.startswith("#")]
            if len(names) != 1 or not isinstance(file[names[0]], h5py.Group):
                raise RecordingError(f"expected one MATLAB struct, found variables {names}", path=path)
            group = file[names[0]]
            return names[0], {key: _h5_value(file, group[key]) for key in group}
    content = scipy.io.loadmat(path, simplify_cells=True)
    names = [key for key in content if not key.startswith("__")]
    if len(names) != 1 or not isinstance(content[names[0]], dict):
        raise RecordingError(f"expected one MATLAB struct, found variables {names}", path=path)
    return names[0], content[names[0]]


def _field(struct: dict, name: str, path: Path):
    if name not in struct:
        raise RecordingError(f"struct has no field {name!r}; it has {sorted(struct)}", path=path)
    return struct[name]


def _scalar(struct: dict, name: str, path: Path) -> float:
    value = np.asarray(_field(struct, name, path), dtype=float)
    if value.size != 1:
        raise RecordingError(f"field {name!r} should be a scalar, got shape {value.shape}", path=path)
    return float(value.ravel()[0])


def _matrix(struct: dict, path: Path) -> np.ndarray:
    data = np.asarray(_field(struct, "data", path))
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.number):
        raise RecordingError(f"field 'data' should be a 2-D numeric matrix, got {data.dtype} {data.shape}", path=path)
    return data


def _opened(path: Path, signal: np.ndarray, names: Sequence[str], sfreq: float, label, meta) -> OpenedFile:
    """Wrap a fully loaded time-first signal; ``read`` selects columns."""
    kept, dropped = usable_channels(names)
    kept_names = tuple(str(names[i]).strip() for i in kept)
    column = {name: kept[j] for j, name in enumerate(kept_names)}

    def read(group: Sequence[str]) -> np.ndarray:
        return np.ascontiguousarray(signal[:, [column[name] for name in group]], dtype=np.float32)

    return OpenedFile(kept_names, (sfreq,) * len(kept_names), read, [], label, meta, dropped)


def _open_2016(path: Path, struct: dict) -> OpenedFile:
    data = _matrix(struct, path)
    sfreq = _scalar(struct, "iEEGsamplingRate", path)
    n_samples = int(_scalar(struct, "nSamplesSegment", path))
    if data.shape[0] != n_samples:
        raise RecordingError(
            f"'data' has {data.shape[0]} samples but nSamplesSegment says {n_samples} (shape {data.shape})", path=path
        )
    indices = np.asarray(_field(struct, "channelIndices", path)).ravel().astype(int)
    if indices.size != data.shape[1]:
        raise RecordingError(f"{indices.size} channelIndices for {data.shape[1]} data columns", path=path)
    meta: dict = {"layout": "kaggle2016", "channel_indices": indices.tolist()}
    if "sequence" in struct:
        meta["sequence"] = int(_scalar(struct, "sequence", path))
    label = None
    match = _NAME_2016.match(path.name)
    if match:
        meta.update(patient=int(match["patient"]), segment=int(match["segment"]), new=bool(match["new"]))
        label = None if match["label"] is None else int(match["label"])
    return _opened(path, data, [f"ch{i:02d}" for i in indices], sfreq, label, meta)


def _open_2014(path: Path, struct_name: str, struct: dict) -> OpenedFile:
    data = _matrix(struct, path).T  # stored channels first
    sfreq = _scalar(struct, "sampling_frequency", path)
    seconds = _scalar(struct, "data_length_sec", path)
    channels = _field(struct, "channels", path)
    names = [channels] if isinstance(channels, str) else [str(name) for name in np.asarray(channels).ravel()]
    if len(names) != data.shape[1]:
        raise RecordingError(f"{len(names)} channel names for {data.shape[1]} data rows", path=path)
    if abs(data.shape[0] - seconds * sfreq) > 1:
        raise RecordingError(
            f"'data' has {data.shape[0]} samples but data_length_sec x sampling_frequency = {seconds * sfreq:.1f}",
            path=path,
        )
    meta: dict = {"layout": "kaggle2014", "kind": _STRUCT_2014.match(struct_name)[1]}
    if "sequence" in struct:
        meta["sequence"] = int(_scalar(struct, "sequence", path))
    match = _NAME_2014.match(path.name)
    if match:
        meta.update(subject=match["subject"], segment=int(match["segment"]))
    return _opened(path, data, names, sfreq, _LABEL_2014[meta["kind"]], meta)


def open_kaggle_mat(path: Path) -> OpenedFile:
    """Open a Kaggle 2016 or 2014 segment; the layout is recognised by the struct's name.

    Raises:
        RecordingError: an unknown layout, a missing or malformed field, or inconsistent sizes.
    """
    struct_name, struct = _load_struct(path)
    if struct_name == "dataStruct":
        return _open_2016(path, struct)
    if _STRUCT_2014.match(struct_name):
        return _open_2014(path, struct_name, struct)
    raise RecordingError(
        f"unknown .mat layout: struct {struct_name!r} (expected 'dataStruct' for Kaggle 2016 "
        "or '<preictal|interictal|test>_segment_N' for Kaggle 2014)",
        path=path,
    )
