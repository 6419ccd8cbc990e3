"""``blackmagic train -c recipes/NAME.yaml``: fit, then test the best checkpoint, then say what came out.

This is what ``make train`` runs. It accepts every option ``blackmagic fit`` does.
"""
from __future__ import annotations

import sys

from lightning.pytorch.callbacks import ModelCheckpoint

from ..augment.suite import CLEAN, Suite
from .checkpoint_io import CheckpointError
from .cli import BlackmagicCLI, RecipeError
from .robustness.results import means, rows_of

PREFIXES = ("test", "test_mc", "test_member1")  # plain, Monte-Carlo dropout, an ensemble's first member alone
TITLES = {"test": "", "test_mc": ", MC dropout", "test_member1": ", member 1 alone"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cli = BlackmagicCLI(args=argv, run=False)
    except (RecipeError, CheckpointError) as e:
        print(f"blackmagic: error: {e}", file=sys.stderr)
        return 2
    trainer, model, data = cli.trainer, cli.model, cli.datamodule
    trainer.fit(model, datamodule=data, ckpt_path=cli.ckpt_path)  # --ckpt_path last resumes in the run's folder
    best = next((c.best_model_path for c in trainer.callbacks if isinstance(c, ModelCheckpoint) and c.best_model_path), None)
    results = trainer.test(model, datamodule=data, ckpt_path=best or None, weights_only=False)  # our own checkpoint
    merged = {k: v for r in results for k, v in r.items()}
    print("\n" + summary(merged, trainer.log_dir, best, getattr(data, "test_suite", None)))
    return 0


def summary(metrics: dict[str, float], run_dir: str | None, checkpoint: str | None,
            suite: Suite | None = None) -> str:
    """What came out: each test metric on a line, except the shifted test sets of ``suite`` (the datamodule's
    ``test_suite``), which are summed up as each corruption's mean accuracy (then its severities) and the suite
    mean; every set's numbers are in the run folder's ``metrics.csv``."""
    cells = suite.cells if suite else ()
    shifted = {f"{prefix}_{c.name}_acc" for c in cells for prefix in PREFIXES}
    lines = ["Result"]
    for key in sorted(metrics):
        if key.endswith("_acc") and key not in shifted:
            lines.append(f"  {key:<24s} {100 * metrics[key]:6.2f} %")
    for key in ("test_nll", "test_ece", "test_member1_nll", "test_member1_ece"):
        if key in metrics:
            lines.append(f"  {key:<24s} {metrics[key]:8.4f}")
    if cells:
        for prefix in PREFIXES:
            lines += suite_lines(metrics, suite, prefix)
    lines.append(f"  run folder               {run_dir}")
    if checkpoint:
        lines.append(f"  best checkpoint          {checkpoint}")
    return "\n".join(lines)


def suite_lines(metrics: dict[str, float], suite: Suite, prefix: str = "test") -> list[str]:
    """Mean accuracy per corruption (then per severity, where it has several) and over the whole suite."""
    rows = [r for r in rows_of("", metrics, suite, prefix) if r.corruption != CLEAN]
    if not rows:
        return []
    found = means(rows)
    title = "shifted test sets" + TITLES[prefix]
    lines = [f"  {title:<24s}   mean    by severity"]
    for corruption, mean in found.corruptions.items():
        each = [r.accuracy for r in rows if r.corruption == corruption]
        detail = "  ".join(f"{100 * a:5.1f}" for a in each) if len(each) > 1 else ""
        lines.append(f"    {corruption:<22s} {100 * mean:6.2f} %   {detail}".rstrip())
    lines.append(f"    {'suite mean':<22s} {100 * found.suite:6.2f} %")
    return lines


if __name__ == "__main__":
    sys.exit(main())
