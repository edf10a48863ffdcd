"""The command line: ``eegseq ingest | train | evaluate | compare`` (also ``python -m eegseq.pipelines``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from eegseq.pipelines.config import ConfigError, load_config
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
        if name == "train":
            command.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
        if name == "compare":
            command.add_argument(
                "--shard",
                metavar="I/N",
                help="run slice I of N of the grid (default: JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID if set, "
                "else all); a shard does not merge",
            )
            command.add_argument("--jobs", type=int, default=1, metavar="N", help="local processes (default 1)")
            command.add_argument(
                "--merge", action="store_true", help="only build the report from --run-dir's job folders"
            )
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
        if args.command == "compare" and args.merge and args.config is None:
            from eegseq.pipelines.compare_run import SHARED_CONFIG

            args.config = args.run_dir / SHARED_CONFIG  # the comparison's own config
        if args.command == "evaluate" and args.config is None:
            from eegseq.pipelines.run_dir import CONFIG_FILE

            if (args.run_dir / CONFIG_FILE).exists():
                args.config = args.run_dir / CONFIG_FILE  # --set changes the run's own config, not the defaults
        config = load_config(args.config, args.overrides)
        if args.command == "ingest":
            from eegseq.pipelines.ingest import run_ingest

            prepared = run_ingest(config.data, progress=config.train.progress, wait_for_store=False)
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

            outputs = evaluate_job(args.run_dir, args.split, config if args.config else None)
            print(f"evaluation written to {outputs}")
        else:
            from eegseq.pipelines.compare import compare_job
            from eegseq.pipelines.compare_grid import Shard, shard_from_environment
            from eegseq.pipelines.compare_report import merge_report

            if args.merge:
                print(f"comparison written to {merge_report(args.run_dir, config)}")
                return 0
            if args.jobs < 1:
                raise ConfigError(f"--jobs {args.jobs}: expected a number of processes >= 1")
            try:
                shard = Shard.parse(args.shard) if args.shard else shard_from_environment(config.compare.shards)
            except ValueError as error:
                raise ConfigError(str(error)) from None
            report = compare_job(config, args.run_dir, shard, args.jobs)
            if report is None:
                print(f"shard {shard.index}/{shard.count} done in {args.run_dir}; merge with: eegseq compare --merge")
            else:
                print(f"comparison written to {report}")
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
