"""Per-run diagnostics of what a recurrent-dropout variant does to state, gradients and memory.

``diagnose_run(run_dir)`` loads a trained run (``model.keras``, ``config.yaml``, ``metrics.json``),
measures it on held-out recordings and writes ``<run_dir>/diagnostics/``:

* ``diagnostics.json``: every number (schema below and in ``docs/compare.md``, "Diagnostics");
* ``state_scale.csv``, ``gradient_flow.csv``, ``memory_retention.csv``: the curves, one row per point;
* ``state_scale.png``, ``gradient_flow.png``, ``memory_retention.png``: their plots.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from eegseq.data.streamer import LaneStreamer
from eegseq.data.synthetic import EVIDENCE_LABEL
from eegseq.data.window_reader import read_recordings
from eegseq.evaluation.tables import read_predictions_csv
from eegseq.files import atomic_path, atomic_write_json, atomic_write_text
from eegseq.models import StockStreamRNN, StreamModel
from eegseq.models.probe import StateProbe
from eegseq.pipelines.config import JobConfig, load_config
from eegseq.pipelines.ingest import run_ingest
from eegseq.pipelines.plan import ModelGeometry, RunPlan
from eegseq.pipelines.run_dir import MODEL_FILE, load_model_file
from eegseq.rnn.diagnostics import stock_mask_changes

SCHEMA = "eegseq.diagnostics/1"
OUTPUT_DIR = "diagnostics"


def diagnose_run(run_dir: Path, split: str = "test", max_recordings: int = 8, config: JobConfig | None = None) -> Path:
    """Measure a trained run and write ``<run_dir>/diagnostics/``; returns that folder.

    Args:
        run_dir: a finished (or stopped) training run.
        split: the held-out split measured.
        max_recordings: at most this many recordings of ``split`` (the first in manifest order) are
            played side by side, one lane each.
        config: defaults to the run's own ``config.yaml``.

    ``diagnostics.json`` (schema ``"eegseq.diagnostics/1"``; lists of equal length are curves;
    a diagnostic that does not apply to the run, or could not be measured, is ``null``)::

        schema: "eegseq.diagnostics/1"
        run: {implementation: "eegseq" | "tf_keras_builtin", cell: "lstm" | "gru",
              dropout: {preset, rate, ...} (the config's model.rnn.dropout), seed: train.seed,
              split, recordings: [ids measured], window_steps: RNN steps per window,
              step_seconds: seconds of signal per RNN step}
        stability: {stopped: bool, reason: "non_finite" | "diverged" | null,
                    step: 1-based global step of the stop | null, steps_completed: int}
        state_scale: {layers: {<rnn layer>: {time_s: [...], h_inference: [...], h_training: [...],
                                             c_inference: [...] | null, c_training: [...] | null,
                                             h_ratio: float, c_ratio: float | null}}}
            Norms are the L2 norm over a layer's units of the carried state at the end of each
            window (time_s: seconds from the recording's start), averaged over recordings; the
            same recordings streamed once in inference mode and once in training mode (the
            variant's own masks, as in training). ``*_ratio``: mean training norm / mean inference norm.
        gradient_flow: {loss: "window cross-entropy", layers: {<rnn layer>: {lag_steps: [0, 1, ...],
                        dL_dh: [...], dL_dc: [...] | null, dL_dh_ratio: float, dL_dc_ratio: float | null}}}
            ||dL/dh_{T-k}||, ||dL/dc_{T-k}|| (L2 over units) of the loss of one window whose last step
            is T, against the lag k in RNN steps, in training mode with the variant's own masks,
            averaged over recordings; ``*_ratio``: the norm at the largest lag / the norm at lag 1.
        memory_retention: {separation_windows: [...], accuracy: [...], roc_auc: [...], recordings: [...],
                           threshold: float} | null
            On a memory task, from the run's evaluation of ``split`` (every recording of it, not only
            the ``max_recordings`` played): accuracy at the evaluation's window threshold and ROC-AUC
            of the scored windows against how many windows separate the cue from the score;
            ``recordings``: how many at each separation. Null without that evaluation.
        mask_changes: {compiled: {changes, step_change_fraction, call_change_fraction, drop_fraction},
                       eager: {...}} | null
            ``tf_keras_builtin`` only, measured on a probe copy of the stock layer: ``changes`` is
            "timestep" | "window" | "never"; the fractions (in [0, 1]) are of consecutive step pairs
            whose mask differs inside a call, of steps whose mask differs between two calls, and of
            dropped units.
    """
    run_dir = Path(run_dir)
    if config is None:
        config = load_config(run_dir / "config.yaml")
    out = run_dir / OUTPUT_DIR
    report = {"schema": SCHEMA, "stability": stability(run_dir)}
    model = StreamModel(load_model_file(run_dir / MODEL_FILE))
    plan = RunPlan.build(config, run_ingest(config.data, progress=False), geometry=ModelGeometry.of_model(model))
    plan.validate((split,))
    stores = plan.stores(split)[:max_recordings]
    streamer = LaneStreamer(stores, plan.stream.model_copy(update={"lanes": len(stores)}), plan.stats)
    report["run"] = {
        "implementation": config.model.rnn.implementation,
        "cell": config.model.rnn.cell,
        "dropout": config.model.rnn.dropout.model_dump(mode="json"),
        "seed": config.train.seed,
        "split": split,
        "recordings": [recording.id for recording in streamer.recordings],
        "window_steps": plan.stream.window // model.stride,
        "step_seconds": model.stride / plan.sfreq,
    }
    keras.utils.set_random_seed(config.train.seed)  # the stock layer's masks come from the global generator
    played = play(model, streamer, plan.mask_keys)
    report["state_scale"] = state_scale(model, played, plan.window_seconds)
    report["gradient_flow"] = gradient_flow(model, played)
    report["memory_retention"] = evaluated_retention(run_dir, split, plan)
    report["mask_changes"] = mask_changes(model)
    _write_outputs(out, report)
    return out


def stability(run_dir: Path) -> dict:
    """Whether and where training stopped, from ``metrics.json`` (``training.stopped``)."""
    path = run_dir / "metrics.json"
    training = json.loads(path.read_text()).get("training", {}) if path.exists() else {}
    stopped = training.get("stopped")
    return {
        "stopped": stopped is not None,
        "reason": None if stopped is None else stopped["reason"],
        "step": None if stopped is None else stopped["step"],
        "steps_completed": training.get("steps", 0 if stopped is None else stopped["step"] - 1),
    }


@dataclass
class _Played:
    """What one pass over the recordings collected (sums over recordings, divided at the end)."""

    window_lanes: list[int] = field(default_factory=list)  # recordings playing at each stream step
    state_norms: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (state, mode) -> sums
    gradient_norms: dict[str, np.ndarray] = field(default_factory=dict)  # state -> (T,) sums, lag order
    gradient_windows: int = 0


def play(model: StreamModel, streamer: LaneStreamer, mask_keys: Callable) -> _Played:
    """Stream every recording whole, once in inference and once in training mode (carrying both
    states as training and evaluation do); probe each recording's last full window in training mode.

    ``mask_keys(recording_ids, epoch)``: the run's mask keys (:meth:`RunPlan.mask_keys`); epoch 0's are used."""
    infer = tf.function(lambda s, r, k, state: model(s, r, k, state, training=False))
    train = tf.function(lambda s, r, k, state: model(s, r, k, state, training=True))
    probe = StateProbe(model)
    lanes, window = streamer.config.lanes, streamer.config.window
    last_full = {r.id: (r.n_samples // window - 1) * window for r in streamer.recordings}
    states = {"inference": model.initial_state(lanes), "training": model.initial_state(lanes)}
    played = _Played()
    for batch in streamer.batches(epochs=1):
        ids = [rid.decode() for rid in batch["recording_id"]]
        playing = np.array([bool(rid) for rid in ids])
        keys = mask_keys(tf.constant(batch["recording_id"]), tf.constant(0, tf.int64))
        probed = np.array([bool(rid) and batch["start"][i] == last_full[rid] for i, rid in enumerate(ids)])
        labels = np.where(probed, batch["label"], -1)
        if (labels >= 0).any():
            window_probe = probe(batch["signal"], batch["reset"], keys, states["training"], labels, training=True)
            for name, gradient in window_probe.gradients.items():
                norms = np.linalg.norm(gradient[labels >= 0], axis=-1)[:, ::-1]  # (lanes, lag)
                played.gradient_norms[name] = played.gradient_norms.get(name, 0.0) + norms.sum(axis=0)
            played.gradient_windows += int((labels >= 0).sum())
        for mode, run in (("inference", infer), ("training", train)):
            _, _, states[mode] = run(batch["signal"], batch["reset"], keys, states[mode])
            for name in model.state_names:
                if name.endswith(("__h", "__c")):
                    norms = tf.norm(states[mode][name], axis=-1).numpy()
                    played.state_norms.setdefault((name, mode), []).append(float(norms[playing].sum()))
        played.window_lanes.append(int(playing.sum()))
    return played


def state_scale(model: StreamModel, played: _Played, window_seconds: float) -> dict:
    """Per-layer mean norms of the carried ``h`` and ``c`` at each window end, inference against training mode."""
    count = np.maximum(np.asarray(played.window_lanes, np.float64), 1)
    time_s = ((np.arange(len(count)) + 1) * window_seconds).tolist()
    layers: dict[str, dict] = {}
    for layer in model.rnn_layers:
        entry: dict = {"time_s": time_s}
        for state in ("h", "c"):
            name = f"{layer.name}__{state}"
            if (name, "inference") not in played.state_norms:
                entry.update({f"{state}_inference": None, f"{state}_training": None, f"{state}_ratio": None})
                continue
            inference = np.asarray(played.state_norms[(name, "inference")]) / count
            training = np.asarray(played.state_norms[(name, "training")]) / count
            entry[f"{state}_inference"] = inference.tolist()
            entry[f"{state}_training"] = training.tolist()
            entry[f"{state}_ratio"] = float(training.mean() / max(inference.mean(), 1e-12))
        layers[layer.name] = entry
    return {"layers": layers}


def gradient_flow(model: StreamModel, played: _Played) -> dict | None:
    """Mean ``‖∂L/∂h_{T-k}‖`` and ``‖∂L/∂c_{T-k}‖`` against the lag ``k`` (None: no labelled window probed)."""
    if not played.gradient_windows:
        return None
    layers: dict[str, dict] = {}
    for layer in model.rnn_layers:
        entry: dict = {}
        for state in ("h", "c"):
            sums = played.gradient_norms.get(f"{layer.name}__{state}")
            if sums is None:
                entry.update({f"dL_d{state}": None, f"dL_d{state}_ratio": None})
                continue
            mean = sums / played.gradient_windows
            entry["lag_steps"] = list(range(len(mean)))
            entry[f"dL_d{state}"] = mean.tolist()
            entry[f"dL_d{state}_ratio"] = float(mean[-1] / mean[1]) if len(mean) > 1 and mean[1] > 0 else None
        layers[layer.name] = entry
    return {"loss": "window cross-entropy", "layers": layers}


def cue_windows(recordings, window: int) -> dict[str, int]:
    """Recording id -> index of the ``window``-sample window holding the end of its ``evidence`` cue
    (recordings of memory tasks only)."""
    return {
        r.id: (round(event.offset * r.sfreq) - 1) // window
        for r in recordings
        for event in r.events
        if event.label == EVIDENCE_LABEL
    }


def evaluated_retention(run_dir: Path, split: str, plan: RunPlan) -> dict | None:
    """:func:`memory_retention` over every recording of ``split``, from the run's evaluation of it
    (``evaluation/<split>/predictions.csv``, inference mode with state carried, at its window threshold).

    None without that evaluation or where no recording has a cue.
    """
    evaluation = run_dir / "evaluation" / split
    if not (evaluation / "predictions.csv").exists():
        return None
    recordings, _ = read_recordings(plan.stores(split))
    predictions = read_predictions_csv(evaluation / "predictions.csv")
    starts = np.round(predictions["start"] * plan.sfreq).astype(int).tolist()
    windows = list(
        zip(predictions["recording"], starts, predictions["probability"].tolist(), predictions["label"].tolist())
    )
    threshold = float(json.loads((evaluation / "metrics.json").read_text())["threshold"]["window"])
    return memory_retention(windows, cue_windows(recordings, plan.stream.window), plan.stream.window, threshold)


def memory_retention(
    windows: list[tuple[str, int, float, int]], cues: dict[str, int], window: int, threshold: float = 0.5
) -> dict | None:
    """Accuracy and ROC-AUC of the scored windows against how many windows separate them from their
    recording's cue.

    Args:
        windows: ``(recording id, start sample, probability, label)`` of every window played; those
            with a negative label (not scored) or of a recording without a cue are left out.
        cues: recording id -> the cue's window index (:func:`cue_windows`); empty: not a memory task (None).
        window: window length, samples.
        threshold: probability at and above which a window is called 1 (the run's own window threshold).

    Returns:
        ``{separation_windows, accuracy, roc_auc, recordings, threshold}``; ``roc_auc`` is None at a
        separation whose windows hold one class only. The ROC-AUC does not depend on the threshold, so it
        tells memory lost from a shifted calibration.
    """
    if not cues:
        return None
    by_separation: dict[int, list[tuple[float, int]]] = {}
    for rid, start, probability, label in windows:
        if label >= 0 and rid in cues:
            by_separation.setdefault(start // window - cues[rid], []).append((probability, label))
    separations = sorted(by_separation)
    scored = [np.array(by_separation[s]) for s in separations]
    return {
        "separation_windows": separations,
        "accuracy": [float(np.mean((p[:, 0] >= threshold) == (p[:, 1] == 1))) for p in scored],
        "roc_auc": [float(roc_auc_score(p[:, 1], p[:, 0])) if len(set(p[:, 1])) == 2 else None for p in scored],
        "recordings": [len(p) for p in scored],
        "threshold": threshold,
    }


def mask_changes(model: StreamModel) -> dict | None:
    """How often the stock layers' recurrent masks change (None: no stock layer with recurrent dropout)."""
    stock = [layer for layer in model.rnn_layers if isinstance(layer, StockStreamRNN) and layer.recurrent_dropout]
    return stock_mask_changes(stock[0].mask_probe()) if stock else None


# ---- outputs ----------------------------------------------------------------------------------
def _csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _curve_rows(layers: dict, x: str, columns: list[str]) -> tuple[list[str], list[list]]:
    rows = []
    for layer, entry in layers.items():
        present = [c for c in columns if entry.get(c) is not None]
        for i, value in enumerate(entry[x]):
            rows.append([layer, value] + [entry[c][i] if c in present else "" for c in columns])
    return ["layer", x, *columns], rows


def _figure(title: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(title)
    return figure, axes


def _write_png(figure: Figure, path: Path) -> None:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")


def _write_layer_curves(out: Path, name: str, layers: dict, x: str, columns: list[str], axes_text: tuple, log_y=False):
    """``<name>.csv`` and ``<name>.png``: each layer's ``columns`` against ``x``. ``axes_text``: (title,
    x label, y label). A log-scaled plot starts at the second point (lag 0 of a gradient is 0 for ``c``)."""
    header, rows = _curve_rows(layers, x, columns)
    atomic_write_text(out / f"{name}.csv", _csv_text(header, rows))
    title, x_label, y_label = axes_text
    figure, axes = _figure(title)
    first = 1 if log_y else 0
    for layer, entry in layers.items():
        for column in columns:
            values = entry.get(column)
            if values is not None:
                style = "--" if column.endswith("_training") else "-"
                y = np.maximum(values[first:], 1e-30) if log_y else values
                axes.plot(entry[x][first:], y, style, label=f"{layer} {column}")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.legend(fontsize="small")
    _write_png(figure, out / f"{name}.png")


def _write_outputs(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    scale = report.get("state_scale")
    if scale:
        columns = ["h_inference", "h_training", "c_inference", "c_training"]
        text = ("state norm along the recording", "time in recording (s)", "mean L2 norm over units")
        _write_layer_curves(out, "state_scale", scale["layers"], "time_s", columns, text)
    flow = report.get("gradient_flow")
    if flow:
        text = ("gradient flow inside a window (training mode)", "lag k (RNN steps)", "mean ||dL/d state_{T-k}||")
        _write_layer_curves(out, "gradient_flow", flow["layers"], "lag_steps", ["dL_dh", "dL_dc"], text, log_y=True)
    retention = report.get("memory_retention")
    if retention:
        columns = ["separation_windows", "accuracy", "roc_auc", "recordings"]
        rows = list(zip(*(retention[c] for c in columns)))
        atomic_write_text(out / "memory_retention.csv", _csv_text(columns, rows))
        figure, axes = _figure("memory retention")
        axes.plot(retention["separation_windows"], retention["accuracy"], "o-", label="accuracy")
        auc = [np.nan if v is None else v for v in retention["roc_auc"]]
        axes.plot(retention["separation_windows"], auc, "s--", label="ROC-AUC")
        axes.legend(fontsize="small")
        axes.axhline(0.5, color="grey", lw=0.5)
        axes.set_xlabel("windows between evidence and score")
        axes.set_ylabel("accuracy")
        axes.set_ylim(0, 1)
        _write_png(figure, out / "memory_retention.png")
    atomic_write_json(out / "diagnostics.json", report)
