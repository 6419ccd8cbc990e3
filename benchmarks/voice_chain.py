"""Voice chain (time shift + tanh distortion, p=1, 1 s clips at 16 kHz): blackmagic's torch backend on a whole
batch against audiomentations ``Shift`` + ``TanhDistortion`` applied clip by clip, timed in the same run. Then one
line per recording-chain op (band_limit, telephone, equalizer, colored_noise, polarity) against its audiomentations
counterpart, and one each for speed, pitch_shift and reverb.

    python benchmarks/voice_chain.py [--device cuda] [--batch 256] [--repeats 40]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import torch
from audiomentations import (AddColorNoise, AdjustDuration, ApplyImpulseResponse, BandPassFilter, Compose,
                             LowPassFilter, PitchShift, PolarityInversion, Resample, SevenBandParametricEQ, Shift,
                             TanhDistortion)

from blackmagic import augment
from blackmagic.augment.ops.reverb import synthetic_ir
from timing import describe_device, interleaved_runs, report

RATE = 16_000
SPEC = [
    {"time_shift": {"shift": [-0.1, 0.1], "unit": "fraction", "rollover": True}},
    {"distortion": {"mode": "tanh", "amount": [0.01, 0.7]}},
]


def versus_audiomentations(title: str, spec: list, anchor, clips: np.ndarray, x: torch.Tensor, device: torch.device,
                           repeats: int) -> None:
    """One line: our pipeline on the whole batch against an audiomentations transform clip by clip (p=1 both)."""
    ours = augment.build(spec, seed=0, sample_rate=RATE)
    times = interleaved_runs({
        "ours": lambda: ours(x),
        "audiomentations": lambda: [anchor(c, sample_rate=RATE) for c in clips],
    }, device, repeats)
    report(title, times, {"audiomentations": "audiomentations"})


def band_limit_line(clips, x, device, repeats) -> None:
    versus_audiomentations(
        "band_limit (low-pass, cutoff 150-7500 Hz, 12-24 dB/octave)",
        [{"band_limit": {"mode": "lowpass", "cutoff_hz": [150, 7500], "rolloff_db": [12, 24]}}],
        LowPassFilter(min_cutoff_freq=150, max_cutoff_freq=7500, min_rolloff=12, max_rolloff=24, p=1.0),
        clips, x, device, repeats)


def telephone_line(clips, x, device, repeats) -> None:
    # audiomentations has no telephone channel; its nearest transform is the band-pass alone (no 8 kHz codec)
    versus_audiomentations(
        "telephone (300-3400 Hz, 8 kHz mu-law) vs a 300-3400 Hz band-pass",
        [{"telephone": {"gain_db": 6}}],
        BandPassFilter(min_center_freq=1850, max_center_freq=1850, min_bandwidth_fraction=3100 / 1850,
                       max_bandwidth_fraction=3100 / 1850, min_rolloff=24, max_rolloff=24, p=1.0),
        clips, x, device, repeats)


def colored_noise_line(clips, x, device, repeats) -> None:
    # f_decay +-2 (PSD exponent) is audiomentations' +-6.02 dB/octave
    versus_audiomentations(
        "colored_noise (SNR 5-40 dB, violet to brown)",
        [{"colored_noise": {"snr_db": [5, 40], "f_decay": [-2, 2]}}],
        AddColorNoise(min_snr_db=5, max_snr_db=40, min_f_decay=-6.02, max_f_decay=6.02, p=1.0),
        clips, x, device, repeats)


def equalizer_line(clips, x, device, repeats) -> None:
    versus_audiomentations("equalizer (seven bands, +-12 dB)", [{"equalizer": {"gain_db": 12}}],
                           SevenBandParametricEQ(min_gain_db=-12, max_gain_db=12, p=1.0), clips, x, device, repeats)


def polarity_line(clips, x, device, repeats) -> None:
    versus_audiomentations("polarity", [{"polarity": {"p": 1.0}}], PolarityInversion(p=1.0), clips, x, device, repeats)


VOICE_REALISM = (band_limit_line, telephone_line, equalizer_line, colored_noise_line, polarity_line)


def speed_line(clips, x, device, repeats) -> None:
    # audiomentations has no speed perturbation; its nearest is Resample (librosa, soxr) kept to the length
    versus_audiomentations(
        "speed (factor 0.9-1.1) vs Resample to 14.5-17.8 kHz + AdjustDuration",
        [{"speed": {"factor": [0.9, 1.1]}}],
        Compose([Resample(min_sample_rate=round(RATE / 1.1), max_sample_rate=round(RATE / 0.9), p=1.0),
                 AdjustDuration(duration_samples=RATE, p=1.0)]),
        clips, x, device, repeats)


def pitch_shift_line(clips, x, device, repeats) -> None:
    # audiomentations' default method (Signalsmith Stretch); its librosa phase vocoder (our op's anchor) is far slower
    versus_audiomentations(
        "pitch_shift (-3 to 3 semitones) vs PitchShift (signalsmith_stretch)",
        [{"pitch_shift": {"semitones": 3}}], PitchShift(min_semitones=-3, max_semitones=3, p=1.0),
        clips, x, device, repeats)


def reverb_line(clips, x, device, repeats) -> None:
    with tempfile.TemporaryDirectory() as folder:  # the same kind of rooms as WAV files for audiomentations
        rt60, drr = torch.linspace(0.2, 1.0, 8), torch.linspace(0, 15, 8)
        rooms = synthetic_ir(rt60, drr, RATE, torch.randn(8, RATE, generator=torch.Generator().manual_seed(0)))
        for i, ir in enumerate(rooms.numpy()):
            soundfile.write(Path(folder) / f"room{i}.wav", ir, RATE, subtype="FLOAT")
        versus_audiomentations(
            "reverb (synthetic rooms, RT60 0.2-1.0 s) vs ApplyImpulseResponse (8 such rooms as WAV files)",
            [{"reverb": {"rt60": [0.2, 1.0], "drr_db": [0, 15]}}], ApplyImpulseResponse(ir_path=folder, p=1.0),
            clips, x, device, repeats)


VOICE_RECORDING = (speed_line, pitch_shift_line, reverb_line)


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
    for line in VOICE_REALISM:
        line(clips, x, device, args.repeats)
    for line in VOICE_RECORDING:
        line(clips, x, device, args.repeats)


if __name__ == "__main__":
    main()
