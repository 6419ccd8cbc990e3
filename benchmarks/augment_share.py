"""How much of a training step the augmentation costs: the default recipe's model and spec on Fashion-MNIST
sized batches, timed with and without the spec in the same run (GPU-synchronised medians).

    python benchmarks/augment_share.py [--device cuda] [--batch 256] [--steps 50]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml

from blackmagic import augment
from blackmagic.models import SmallImageNet
from timing import describe_device, interleaved_ms

RECIPE = Path(__file__).parents[1] / "recipes" / "fashion_mnist.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=50)
    args = ap.parse_args()
    device = torch.device(args.device)
    recipe = yaml.safe_load(RECIPE.read_text())
    spec = recipe["data"]["init_args"]["augment"]
    widths = recipe["model"]["init_args"]["net"]["init_args"]["widths"]
    net = SmallImageNet(1, 10, widths=widths).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    pipe = augment.build(spec, seed=0)
    x = torch.randint(0, 256, (args.batch, 1, 28, 28), dtype=torch.uint8, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)

    def step(with_augment: bool):
        def run():
            batch = pipe(x) if with_augment else x.float().div_(255)
            loss = torch.nn.functional.cross_entropy(net(batch * 2 - 1), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return run

    t = interleaved_ms({"plain": step(False), "augmented": step(True), "augment only": lambda: pipe(x)}, device,
                       args.steps)
    share = t["augment only"] / t["augmented"]  # the difference of two step times is too noisy to quote
    print(f"augmentation share of a training step on {describe_device(device)}, batch {args.batch}, spec from "
          f"{RECIPE.name}")
    print(f"  step without augmentation {t['plain']:8.2f} ms\n  step with augmentation    {t['augmented']:8.2f} ms"
          f"\n  augmentation alone        {t['augment only']:8.2f} ms\n  share of the step         {100 * share:8.1f} %")


if __name__ == "__main__":
    main()
