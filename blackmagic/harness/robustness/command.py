"""``blackmagic robustness -c RECIPE --ckpt CKPT [--compare CKPT2 ...] [--suite SUITE.yaml] --out DIR``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from ...augment import SpecError
from ..checkpoint_io import CheckpointError
from .evaluate import robustness
from .results import read_csv, terminal_table

EPILOG = """Any other option is passed to the recipe (LightningCLI), e.g. --trainer.accelerator cpu or
--data.init_args.batch_size 128. Writes DIR/robustness.csv (checkpoint, corruption, severity, accuracy, nll,
ece; the clean test set is corruption 'clean', severity 0) and DIR/robustness.png (a heatmap per checkpoint)."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="blackmagic robustness", allow_abbrev=False, epilog=EPILOG,
                                 description="Test checkpoints on a recipe's test set, clean and under a suite of "
                                             "graded corruptions.")
    ap.add_argument("-c", "--config", required=True, help="the recipe (LightningCLI YAML)")
    ap.add_argument("--ckpt", required=True, help="the checkpoint to test")
    ap.add_argument("--compare", nargs="+", default=[], metavar="CKPT", help="more checkpoints, side by side")
    ap.add_argument("--with-report", nargs="+", default=[], metavar="CSV", type=Path,
                    help="earlier robustness.csv files (checkpoints of other recipes) to show beside these")
    ap.add_argument("--suite", default=None,
                    help="a suite YAML or a built-in suite (images, audio); default: the one for the recipe's data")
    ap.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="folder for robustness.csv and robustness.png")
    args, overrides = ap.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        earlier = [row for path in args.with_report for row in read_csv(path)]
        rows = robustness(args.config, [args.ckpt, *args.compare], args.suite, args.out, overrides, earlier)
    except (FileNotFoundError, CheckpointError, SpecError, ValueError) as e:
        ap.error(str(e))
    console = Console()
    console.print(terminal_table(rows))
    console.print(f"wrote {args.out / 'robustness.csv'} and {args.out / 'robustness.png'}")
    return 0
