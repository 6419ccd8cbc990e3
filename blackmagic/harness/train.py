"""``blackmagic train -c recipes/NAME.yaml``: fit, then test the best checkpoint, then say what came out.

This is what ``make train`` runs. It accepts every option ``blackmagic fit`` does.
"""
from __future__ import annotations

import sys

from lightning.pytorch.callbacks import ModelCheckpoint

from .cli import BlackmagicCLI


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cli = BlackmagicCLI(args=argv, run=False)
    trainer, model, data = cli.trainer, cli.model, cli.datamodule
    trainer.fit(model, datamodule=data)
    best = next((c.best_model_path for c in trainer.callbacks if isinstance(c, ModelCheckpoint) and c.best_model_path), None)
    results = trainer.test(model, datamodule=data, ckpt_path=best or None, weights_only=False)  # our own checkpoint
    merged = {k: v for r in results for k, v in r.items()}
    print("\n" + summary(merged, trainer.log_dir, best))
    return 0


def summary(metrics: dict[str, float], run_dir: str | None, checkpoint: str | None) -> str:
    lines = ["Result"]
    for key in sorted(metrics):
        if key.endswith("_acc"):
            lines.append(f"  {key:<24s} {100 * metrics[key]:6.2f} %")
    for key in ("test_nll", "test_ece"):
        if key in metrics:
            lines.append(f"  {key:<24s} {metrics[key]:8.4f}")
    lines.append(f"  run folder               {run_dir}")
    if checkpoint:
        lines.append(f"  best checkpoint          {checkpoint}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
