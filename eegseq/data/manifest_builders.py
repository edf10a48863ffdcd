"""Build manifests (and their events tables) from dataset folders and from a synthetic spec.

Every builder returns a :class:`BuiltManifest`: rows with splits assigned by subject or group
(:func:`~eegseq.data.manifest.assign_splits`), events per recording id, and the files it left
out with the reason (unparsable names, corrupt files, missing annotations, files marked unsafe).
Paths are relative to ``data_root`` (default: the folder scanned).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from eegseq.data.errors import RecordingError
from eegseq.data.manifest import (
    ManifestRow,
    SplitSpec,
    assign_splits,
    events_path_for,
    sha256_file,
    write_events,
    write_manifest,
)
from eegseq.data.recording import Event
from eegseq.data.synthetic import SyntheticSpec, plan_recording, source_sha256

_KAGGLE2016_NAME = re.compile(r"^(?P<new>new_)?(?P<patient>\d+)_(?P<segment>\d+)(?:_(?P<label>[01]))?\.mat$", re.I)
_BIDS_EEG = re.compile(r"^(?P<stem>sub-[^_]+(?:_[a-z]+-[^_]+)*)_eeg\.(?:edf|bdf|vhdr|set|fif)$", re.I)
_SEIZURE_PREFIX = "sz"
# CHB-MIT: "Case chb21 was obtained 1.5 years after case chb01, from the same female subject."
_CHBMIT_SAME_SUBJECT = {"chb21": "chb01"}


@dataclass
class BuiltManifest:
    """A manifest in memory: rows, ``{recording_id: events}``, and ``(file, reason)`` left out."""

    rows: list[ManifestRow]
    events: dict[str, list[Event]] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def write(self, manifest_path: str | os.PathLike) -> Path:
        """Write the manifest CSV and its events table (``<stem>_events.csv``) atomically."""
        write_events({row.id: self.events.get(row.id, []) for row in self.rows}, events_path_for(manifest_path))
        return write_manifest(self.rows, manifest_path)


def build_synthetic_manifest(spec: SyntheticSpec, split: SplitSpec = SplitSpec(by="subject")) -> BuiltManifest:
    """The store manifest of a synthetic dataset (paths ``<id>.h5`` relative to the store folder).

    Only the recordings' plans are drawn (no samples generated); ``sha256`` is
    :func:`~eegseq.data.synthetic.source_sha256`.
    """
    rows, events = [], {}
    for index in range(spec.n_recordings):
        plan = plan_recording(spec, index)
        rid = spec.recording_id(index)
        rows.append(
            ManifestRow(
                id=rid,
                path=f"{rid}.h5",
                sha256=source_sha256(spec, index),
                subject=spec.subject_of(index),
                group=spec.group_of(index),
                split="train",
                label=plan.label,
                sfreq=spec.sfreq,
                n_channels=spec.n_channels,
                n_samples=spec.n_samples,
            )
        )
        events[rid] = list(plan.events)
    return BuiltManifest(assign_splits(rows, split), events)


def build_kaggle2016_manifest(
    folder: str | os.PathLike,
    *,
    split: SplitSpec = SplitSpec(),
    safe_labels: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
) -> BuiltManifest:
    """Manifest of a Kaggle 2016 (Melbourne) folder of ``I_J_K.mat`` / ``I_J.mat`` / ``new_I_J.mat``.

    Every file is read once (for ``sequence``, rate and shape). Subject = patient ``I``. Group =
    patient + class + one-hour series: segments of a patient and class, in segment order, start a
    new hour whenever ``sequence`` does not increase; a file without ``sequence`` (test files) is
    its own group. With ``safe_labels`` (Kaggle's CSV with columns ``image``, ``class``, ``safe``),
    files marked ``safe = 0`` are left out and ``class`` labels files whose name has none.
    """
    from eegseq.data.readers import read_recording  # lazy: MNE is only needed when reading files

    folder = Path(folder)
    root = folder if data_root is None else Path(data_root)
    safe = _read_safe_list(safe_labels) if safe_labels is not None else {}
    found, problems = [], []
    for path in sorted(folder.rglob("*.mat")):
        match = _KAGGLE2016_NAME.match(path.name)
        if match is None:
            problems.append((str(path), "name is not I_J_K.mat, I_J.mat or new_I_J.mat"))
            continue
        label = None if match["label"] is None else int(match["label"])
        if path.name in safe:
            listed_class, is_safe = safe[path.name]
            if not is_safe:
                problems.append((str(path), f"marked unsafe in {safe_labels}"))
                continue
            label = listed_class if label is None else label
        try:
            recording = read_recording(path, annotations=None)
        except RecordingError as exc:
            problems.append((str(path), str(exc)))
            continue
        found.append((path, match, label, recording.meta.get("sequence"), recording))

    rows = []
    previous: dict[tuple, tuple[int, int]] = {}  # (patient, label) -> (hour, last sequence)
    for path, match, label, sequence, recording in sorted(
        found, key=lambda item: (int(item[1]["patient"]), str(item[2]), int(item[1]["segment"]))
    ):
        patient = int(match["patient"])
        if sequence is None or label is None:
            group = f"p{patient}_{'new_' if match['new'] else ''}test_{int(match['segment'])}"
        else:
            hour, last = previous.get((patient, label), (-1, 10**9))
            hour = hour + 1 if sequence <= last else hour
            previous[(patient, label)] = (hour, sequence)
            group = f"p{patient}_{'preictal' if label else 'interictal'}_h{hour}"
        rows.append(
            _row(
                root,
                path,
                subject=f"p{patient}",
                group=group,
                label=label,
                sfreq=recording.sfreq,
                n_channels=recording.n_channels,
                n_samples=recording.n_samples,
            )
        )
    return _finish(rows, {}, problems, split)


def build_chbmit_manifest(
    folder: str | os.PathLike, *, split: SplitSpec = SplitSpec(by="subject"), data_root: str | os.PathLike | None = None
) -> BuiltManifest:
    """Manifest of a CHB-MIT folder (``chbNN/chbNN_XX.edf`` with ``chbNN/chbNN-summary.txt``).

    Events come from the summaries (:func:`eegseq.data.readers.parse_chbmit_summary`); an EDF the
    summary does not list is left out. Subject = case (chb21 is chb01's subject); group = subject.
    """
    from eegseq.data.readers import parse_chbmit_summary

    folder = Path(folder)
    root = folder if data_root is None else Path(data_root)
    rows, events, problems = [], {}, []
    for summary in sorted(folder.rglob("*-summary.txt")):
        case = summary.name.removesuffix("-summary.txt")
        try:
            seizures = parse_chbmit_summary(summary)
        except RecordingError as exc:
            problems.append((str(summary), str(exc)))
            continue
        subject = _CHBMIT_SAME_SUBJECT.get(case, case)
        for edf in sorted(summary.parent.glob("*.edf")):
            if edf.name not in seizures:
                problems.append((str(edf), f"not listed in {summary.name}"))
                continue
            rows.append(_row(root, edf, subject=subject, group=subject, label=int(bool(seizures[edf.name]))))
            events[rows[-1].id] = seizures[edf.name]
    return _finish(rows, events, problems, split)


def build_tusz_manifest(
    folder: str | os.PathLike, *, split: SplitSpec = SplitSpec(by="subject"), data_root: str | os.PathLike | None = None
) -> BuiltManifest:
    """Manifest of a TUH TUSZ folder (``<subject>_<session>_<token>.edf`` with its annotation beside: the
    ``.csv_bi`` of TUSZ v2, or the ``.tse_bi``/``.tse`` of v1, in that order of preference).

    Subject = the name's first part; group = subject + session. An EDF without an annotation file
    is left out.
    """
    from eegseq.data.readers.annotations import TUSZ_ANNOTATION_SUFFIXES, read_annotation_file

    folder = Path(folder)
    root = folder if data_root is None else Path(data_root)
    rows, events, problems = [], {}, []
    for edf in sorted(folder.rglob("*.edf")):
        candidates = [edf.with_suffix(suffix) for suffix in TUSZ_ANNOTATION_SUFFIXES]
        annotation = next((path for path in candidates if path.is_file()), candidates[0])
        parts = edf.stem.split("_")
        if len(parts) < 3:
            problems.append((str(edf), "name is not <subject>_<session>_<token>.edf"))
            continue
        seizures = _sidecar_events(edf, annotation, lambda path, edf=edf: read_annotation_file(path, edf), problems)
        if seizures is None:
            continue
        rows.append(_row(root, edf, subject=parts[0], group=f"{parts[0]}_{parts[1]}", label=int(bool(seizures))))
        events[rows[-1].id] = seizures
    return _finish(rows, events, problems, split)


def build_bids_manifest(
    folder: str | os.PathLike, *, split: SplitSpec = SplitSpec(by="subject"), data_root: str | os.PathLike | None = None
) -> BuiltManifest:
    """Manifest of a BIDS folder (SzCORE convention): ``sub-*[_ses-*]..._eeg.<edf|bdf|...>`` with
    ``..._events.tsv`` beside it. Subject = ``sub-`` entity; group = subject + ``ses-`` entity.
    Label = 1 when an event's type starts with ``sz``. A recording without events file is left out.
    """
    from eegseq.data.readers import parse_events_tsv

    folder = Path(folder)
    root = folder if data_root is None else Path(data_root)
    rows, events, problems = [], {}, []
    for path in sorted(p for p in folder.rglob("sub-*_eeg.*") if _BIDS_EEG.match(p.name)):
        stem = _BIDS_EEG.match(path.name)["stem"]
        annotation = path.with_name(f"{stem}_events.tsv")
        found = _sidecar_events(path, annotation, parse_events_tsv, problems)
        if found is None:
            continue
        entities = dict(part.split("-", 1) for part in stem.split("_"))
        subject = f"sub-{entities['sub']}"
        group = subject + (f"_ses-{entities['ses']}" if "ses" in entities else "")
        label = int(any(e.label.lower().startswith(_SEIZURE_PREFIX) for e in found))
        rows.append(_row(root, path, subject=subject, group=group, label=label, rid=stem))
        events[stem] = found
    return _finish(rows, events, problems, split)


def _sidecar_events(recording: Path, annotation: Path, parse, problems: list[tuple[str, str]]) -> list[Event] | None:
    """The events ``parse`` reads from the annotation file beside ``recording``, or None after
    reporting in ``problems`` why the recording is left out (file missing or unreadable)."""
    if not annotation.is_file():
        problems.append((str(recording), f"no {annotation.name} beside it"))
        return None
    try:
        return parse(annotation)
    except RecordingError as exc:
        problems.append((str(recording), str(exc)))
        return None


def _row(
    root: Path, path: Path, *, subject: str, group: str, label: int | None, rid: str | None = None, **facts: object
) -> ManifestRow:
    if not path.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{path} is outside the data root {root}")
    return ManifestRow(
        id=rid or path.name.split(".")[0],
        path=path.resolve().relative_to(root.resolve()).as_posix(),
        sha256=sha256_file(path),
        subject=subject,
        group=group,
        split="train",
        label=label,
        **facts,
    )


def _finish(
    rows: list[ManifestRow], events: dict[str, list[Event]], problems: list[tuple[str, str]], split: SplitSpec
) -> BuiltManifest:
    """Drop later rows whose id repeats an earlier one (reported), then assign splits."""
    seen: dict[str, str] = {}
    unique = []
    for row in rows:
        if row.id in seen:
            problems.append((row.path, f"id {row.id!r} already used by {seen[row.id]}"))
            continue
        seen[row.id] = row.path
        unique.append(row)
    return BuiltManifest(assign_splits(unique, split) if unique else [], events, problems)


def _read_safe_list(path: str | os.PathLike) -> dict[str, tuple[int | None, bool]]:
    """Kaggle 2016 ``train_and_test_data_labels_safe.csv``: ``{file name: (class, safe)}``."""
    safe: dict[str, tuple[int | None, bool]] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"image", "class", "safe"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: safe list lacks column(s) {sorted(missing)}; expected image, class, safe")
        for number, row in enumerate(reader, start=1):
            try:
                safe[row["image"]] = (int(row["class"]), bool(int(row["safe"])))
            except ValueError:
                raise ValueError(
                    f"{path}, row {number}: class and safe must be 0 or 1, got {row['class']!r}, {row['safe']!r}"
                ) from None
    return safe


class SyntheticDatasetSpec(BaseModel):
    """A shipped synthetic dataset: the generator spec and the split rule (a ``spec.json`` file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    synthetic: SyntheticSpec
    split: SplitSpec = SplitSpec(by="subject")

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticDatasetSpec:
        try:
            return cls.model_validate_json(Path(path).read_text())
        except ValidationError as exc:
            raise ValueError(f"{path}: invalid synthetic dataset spec: {exc}") from None

    def build(self) -> BuiltManifest:
        return build_synthetic_manifest(self.synthetic, self.split)
