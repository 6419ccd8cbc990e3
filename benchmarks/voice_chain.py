"""Voice chain (time shift + tanh distortion, p=1, 1 s clips at 16 kHz): blackmagic's torch backend on a whole
batch against audiomentations ``Shift`` + ``TanhDistortion`` applied clip by clip, timed in the same run.

    python benchmarks/voice_chain.py [--device cuda] [--batch 256] [--repeats 40]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from audiomentations import Compose, Shift, TanhDistortion

from blackmagic import augment
from timing import describe_device, interleaved_runs, report

RATE = 16_000
SPEC = [
    {"time_shift": {"shift": [-0.1, 0.1], "unit": "fraction", "rollover": True}},
    {"distortion": {"mode": "tanh", "amount": [0.01, 0.7]}},
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=40)
    args = ap.parse_args()
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    clips = (0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000, (args.batch, 1, 1)) * t)).astype(np.float32)
    clips += rng.normal(0, 0.01, clips.shape).astype(np.float32)
    anchor = Compose([Shift(min_shift=-0.1, max_shift=0.1, fade_duration=0.0, p=1.0),
                      TanhDistortion(min_distortion=0.01, max_distortion=0.7, p=1.0)])
    ours = augment.build(SPEC, seed=0, sample_rate=RATE)
    x = torch.from_numpy(clips).to(device)
    print(f"voice chain on {describe_device(device)}; batch {args.batch} x 1 s at {RATE} Hz")
    times = interleaved_runs({
        "ours": lambda: ours(x),
        "audiomentations": lambda: [anchor(c, sample_rate=RATE) for c in clips],
    }, device, args.repeats)
    report("time_shift + tanh distortion", times, {"audiomentations": "audiomentations"}, {"audiomentations": 5.0})


if __name__ == "__main__":
    main()
