"""The command line: ``eegseq ingest | train | evaluate | compare`` (also ``python -m eegseq.pipelines``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from eegseq.pipelines.config import load_config
from eegseq.pipelines.errors import Refused

EXIT_STOPPED = 143  # 128 + SIGTERM: the job stopped on request and can be resumed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eegseq", description="Long-sequence EEG training with stateful RNNs.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("ingest", "read recordings into the HDF5 store and compute normalisation statistics"),
        ("train", "train the stateful CNN -> RNN model, then evaluate it on the test split"),
        ("evaluate", "evaluate a run directory's model.keras on a split"),
        ("compare", "train and evaluate several dropout variants side by side"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--config", type=Path, help="YAML job config (default: built-in defaults)")
        command.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a config field, e.g. --set model.rnn.units=128 (repeatable)",
        )
        if name != "ingest":
            command.add_argument("--run-dir", type=Path, required=True, help="folder for the run's outputs")
        if name in ("train", "compare"):
            command.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
        if name == "evaluate":
            command.add_argument("--split", default="test", help="split to evaluate (default: test)")
        command.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_config(args.config, args.overrides)
        if args.command == "ingest":
            from eegseq.pipelines.ingest import run_ingest

            prepared = run_ingest(config.data, progress=config.train.progress)
            print(f"store ready: {prepared.store_dir} (manifest {prepared.manifest.name})")
        elif args.command == "train":
            from eegseq.pipelines.evaluate import evaluate_job
            from eegseq.pipelines.train import train_job

            result = train_job(config, args.run_dir, resume=args.resume)
            if result.is_chief:
                outputs = evaluate_job(args.run_dir, "test", config)
                print(f"run complete: {args.run_dir}/model.keras; evaluation in {outputs}")
        elif args.command == "evaluate":
            from eegseq.pipelines.evaluate import evaluate_job

            outputs = evaluate_job(args.run_dir, args.split, config if args.config or args.overrides else None)
            print(f"evaluation written to {outputs}")
        else:
            from eegseq.pipelines.compare import compare_job

            table = compare_job(config, args.run_dir, resume=args.resume)
            print(f"comparison written to {table}")
    except Refused as error:
        print(f"eegseq {args.command}: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from eegseq.pipelines.train import StoppedBySignal, TrainingStopped

        if isinstance(error, TrainingStopped):
            print(f"eegseq: {error}", file=sys.stderr)
            return EXIT_STOPPED if isinstance(error, StoppedBySignal) else 1
        if args.verbose:
            raise
        print(f"eegseq {args.command}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
