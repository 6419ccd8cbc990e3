"""How much of a training step the augmentation costs: the default recipe's own datamodule (its spec, fitted where
it fits) and model (its options: layout, precision), on real Fashion-MNIST batches, timed with and without the
augmentation in the same run (interleaved, GPU-synchronised medians).

    python benchmarks/augment_share.py [--recipe recipes/fashion_mnist.yaml] [--device cuda] [--steps 30]
"""
from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import torch
import torch.nn.functional as F

from blackmagic.harness.cli import BlackmagicCLI
from blackmagic.units import to_unit_float
from timing import describe_device, interleaved_ms

RECIPE = Path(__file__).parents[1] / "recipes" / "fashion_mnist.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, default=RECIPE)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    device = torch.device(args.device)
    cli = BlackmagicCLI(args=["-c", str(args.recipe), "--trainer.logger=false", "--trainer.callbacks=[]",
                              "--trainer.enable_progress_bar=false"], run=False)
    data, model = cli.datamodule, cli.model.to(device)
    data.setup("fit")  # loads the data and fits the ops that learn from it (ZCA)
    pipe = data.pipeline.to(device)
    x, y = next(iter(data.train_dataloader()))
    x, y = x.to(device), y.to(device)
    precision = str(cli.trainer.precision)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if precision.startswith("bf16")
                else contextlib.nullcontext())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def augment():
        if pipe.mixes_batch:
            return pipe(x, targets=F.one_hot(y, data.num_classes).float())
        return pipe(x), y

    def step(with_augment: bool):
        def run():
            batch, target = augment() if with_augment else (to_unit_float(x), y)
            with autocast:
                logits = model.members[0](model._layout(batch * 2 - 1))
                loss = F.cross_entropy(logits.float(), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return run

    t = interleaved_ms({"plain": step(False), "augmented": step(True), "augment only": augment}, device, args.steps)
    share = t["augment only"] / t["augmented"]  # the difference of two step times is too noisy to quote
    print(f"augmentation share of a training step on {describe_device(device)}, batch {len(y)}, {precision}, "
          f"recipe {args.recipe.name}")
    print(f"  step without augmentation {t['plain']:8.2f} ms\n  step with augmentation    {t['augmented']:8.2f} ms"
          f"\n  augmentation alone        {t['augment only']:8.2f} ms\n  share of the step         {100 * share:8.1f} %"
          f"  (target <= 5 %: {'met' if share <= 0.05 else 'NOT met'})")


if __name__ == "__main__":
    main()
