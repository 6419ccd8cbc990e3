"""Vision chain (noise, pixel dropout, colour shift, rotate, blur; all p=1, per-sample parameters):
blackmagic's torch backend against Kornia 0.9 ``AugmentationSequential`` with the same ops and ranges
(pixel dropout in plain torch for Kornia, which has none), and the same spec compiled by blackmagic's DALI
backend (DALI 2.4, fed the batch from memory), timed in the same run.

    python benchmarks/vision_chain.py [--device cuda] [--repeats 20]
"""
from __future__ import annotations

import argparse

import kornia.augmentation as K
import torch

from blackmagic import augment
from timing import describe_device, interleaved_runs, report

SPEC = [
    {"noise": {"std": 0.05}},
    {"pixel_dropout": {"rate": [0.0, 0.05]}},
    {"color_shift": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.05}},
    {"rotate": {"degrees": 30}},
    {"blur": {"sigma": [0.1, 2.0], "kernel_size": 13}},
]


def kornia_chain(device: torch.device):
    seq = K.AugmentationSequential(
        K.RandomGaussianNoise(mean=0.0, std=0.05, p=1.0),
        K.ColorJitter(0.2, 0.2, 0.2, 0.05, p=1.0),
        K.RandomRotation(30.0, p=1.0),
        K.RandomGaussianBlur((13, 13), (0.1, 2.0), p=1.0),
    ).to(device)

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255
        rate = torch.rand(x.shape[0], 1, 1, 1, device=device) * 0.05
        keep = torch.rand(x.shape[0], 1, *x.shape[2:], device=device) >= rate
        return seq(x * keep)  # Kornia applies noise first; dropout order does not change the cost

    return run


def dali_chain(batch: torch.Tensor):
    """The spec on DALI: one pipeline iteration augments the whole batch (fed from host memory on CPU)."""
    from nvidia.dali import fn, pipeline_def

    aug = augment.build(SPEC, backend="dali", seed=0)
    host = [s for s in batch.permute(0, 2, 3, 1).contiguous().cpu().numpy()]  # HWC uint8
    gpu = batch.device.type == "cuda"

    # Synchronous execution: each run() does exactly one batch's work, none of it prefetched in the background.
    @pipeline_def(batch_size=len(host), num_threads=torch.get_num_threads(), device_id=0 if gpu else None, seed=0,
                  exec_async=False, exec_pipelined=False, prefetch_queue_depth=1)
    def pipe():
        x = fn.external_source(source=lambda: host, batch=True, layout="HWC")
        return aug(x.gpu() if gpu else x, channels=3)

    p = pipe()
    p.build()
    return lambda: p.run()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    device = torch.device(args.device)
    shapes = [(256, 3, 32, 32), (32, 3, 224, 224)]
    targets = {"cpu": {"kornia": [3.0, 1.5]}, "cuda": {"kornia": [5.0, 5.0]}}[device.type]
    if device.type == "cuda":
        shapes = [(1024, 3, 32, 32), (256, 3, 224, 224)]
    print(f"vision chain on {describe_device(device)}; torch {torch.__version__}")
    ours = augment.build(SPEC, seed=0)
    theirs = kornia_chain(device)
    for i, shape in enumerate(shapes):
        x = torch.randint(0, 256, shape, dtype=torch.uint8, device=device)
        t = interleaved_runs({"ours": lambda: ours(x), "kornia": lambda: theirs(x), "dali": dali_chain(x)}, device,
                             args.repeats)
        report(f"batch {shape}", t, {"kornia": "kornia", "dali": "DALI (same spec)"}, {"kornia": targets["kornia"][i]})


if __name__ == "__main__":
    main()
