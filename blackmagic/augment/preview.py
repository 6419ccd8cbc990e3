"""``blackmagic preview``: one picture of what a spec does — N inputs x K fresh draws in a PNG grid.

Images are shown as they come out of the pipeline; audio as log-mel spectrograms (time in s, mel bands labelled
in Hz, one colour scale in dB for the whole grid), with every augmented clip also written as a WAV file next to
the PNG so it can be heard.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from .mels import hz_to_mel
from .pipeline import Pipeline
from .spec import SPEC_KEYS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}


def find_specs(document: Any, top: bool = True) -> list[list]:
    """The op lists in a spec file or a recipe: the document itself if it is a list, else every ``augment`` /
    ``audio_augment`` / ``spec_augment`` value in its (nested) mappings, in document order."""
    if isinstance(document, list):
        return [document] if top else []
    if not isinstance(document, dict):
        return []
    found = []
    for key, value in document.items():
        if key in SPEC_KEYS and isinstance(value, list):
            found.append(value)
        else:
            found += find_specs(value, top=False)
    return found


def load_inputs(path: Path, count: int, sample_rate: int, seconds: float | None, size: int | None):
    """Read up to ``count`` images or audio clips from a file or a folder (searched recursively, sorted)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES | AUDIO_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"preview: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) or audio "
                                f"({', '.join(sorted(AUDIO_SUFFIXES))}) under {path}")
    files = files[:count]
    kinds = {"audio" if f.suffix.lower() in AUDIO_SUFFIXES else "image" for f in files}
    if len(kinds) > 1:
        raise ValueError(f"preview: {path} mixes images and audio; point --input at one kind")
    if kinds == {"audio"}:
        from ..io import read_audio

        clips = [read_audio(f, sample_rate, seconds) for f in files]
        length = max(c.shape[-1] for c in clips)
        return "audio", files, torch.stack([torch.nn.functional.pad(c, (0, length - c.shape[-1])) for c in clips])
    from ..io import read_image

    images = [read_image(f) for f in files]
    channels = 3 if any(im.shape[0] == 3 for im in images) else 1
    target = (size, size) if size else tuple(images[0].shape[1:])
    return "image", files, torch.stack([_fit(im, channels, target) for im in images])


def _fit(image: torch.Tensor, channels: int, size: tuple[int, int]) -> torch.Tensor:
    from torchvision.transforms.v2.functional import resize

    if image.shape[0] != channels:
        image = image.expand(channels, -1, -1)
    return resize(image, list(size), antialias=True) if tuple(image.shape[1:]) != size else image


def render(kind: str, names: list[str], original: torch.Tensor, draws: list[torch.Tensor], out: Path,
           sample_rate: int, normalise: bool) -> None:
    """Draw the grid: a row per input, the original first, then one column per fresh draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [original.float() / (255 if original.dtype == torch.uint8 else 1)] + draws
    rows, cols = len(names), len(columns)
    audio = kind == "audio"
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols + (1.4 if audio else 0), 1.9 * rows + 0.4),
                             squeeze=False, layout="constrained" if audio else None)
    if audio:
        mel = _mel(sample_rate)
        spectra = [[decibels(mel(batch[i].mean(0))) for i in range(rows)] for batch in columns]  # (N_MELS, frames)
        top = max(float(s.max()) for column in spectra for s in column)
        seconds = original.shape[-1] / sample_rate
    for j, batch in enumerate(columns):
        for i in range(rows):
            ax = axes[i][j]
            if audio:
                image = ax.imshow(spectra[j][i].numpy(), origin="lower", aspect="auto", cmap="magma",
                                  vmin=top - DB_RANGE, vmax=top, extent=(0, seconds, 0, N_MELS))
                _audio_axes(ax, sample_rate, seconds, left=j == 0, bottom=i == rows - 1)
            else:
                ax.set_xticks([]), ax.set_yticks([])
                img = batch[i]
                if normalise:
                    img = (img - img.min()) / (img.max() - img.min() + 1e-8)
                img = img.clamp(0, 1).permute(1, 2, 0).numpy()
                ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            if i == 0:
                ax.set_title("original" if j == 0 else f"draw {j}", fontsize=9)
            if j == 0:
                label = names[i][:18]
                ax.set_ylabel(f"{label}\nmel frequency (Hz)" if audio else label, fontsize=7)
    if audio:
        fig.colorbar(image, ax=axes, label="power (dB)", shrink=min(1.0, 0.4 + 0.15 * rows))
    else:
        fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


N_MELS = 64
HOP = 160
DB_RANGE = 80.0  # the colour scale spans this far below the grid's loudest bin
TICKS_HZ = (0, 250, 500, 1000, 2000, 4000, 8000, 16000)


def _mel(sample_rate: int):
    import torchaudio

    return torchaudio.transforms.MelSpectrogram(sample_rate=sample_rate, n_fft=512, hop_length=HOP, n_mels=N_MELS)


def decibels(power: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(power + 1e-10)


def mel_position(hz: float, sample_rate: int) -> float:
    """Where ``hz`` falls on the image's vertical axis (band ``k`` spans [k, k + 1]; torchaudio's HTK mel bands
    are centred at equal steps of mel from 0 Hz to Nyquist)."""
    return hz_to_mel(hz) / (hz_to_mel(sample_rate / 2) / (N_MELS + 1)) - 0.5


def _audio_axes(ax, sample_rate: int, seconds: float, left: bool, bottom: bool) -> None:
    """Frequency ticks in Hz on the first column, time ticks in s on the last row; the others unlabelled."""
    ticks = [f for f in TICKS_HZ if f <= sample_rate / 2]
    ax.set_yticks([max(0.0, mel_position(f, sample_rate)) for f in ticks],
                  [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks] if left else [], fontsize=6)
    ax.tick_params(labelsize=6, length=2)
    if not bottom:
        ax.set_xticklabels([])
    else:
        ax.set_xlabel("time (s)", fontsize=7)


def preview(spec_path: Path, input_path: Path, out: Path, draws: int = 4, count: int = 6, seed: int | None = None,
            sample_rate: int = 16_000, seconds: float | None = None, size: int | None = None) -> list[Path]:
    """Render the preview and return every file written (the PNG, and WAVs for audio)."""
    if not spec_path.is_file():
        raise FileNotFoundError(f"preview: no spec file {spec_path}")
    specs = find_specs(yaml.safe_load(spec_path.read_text()))
    if not specs:
        raise ValueError(f"preview: {spec_path} holds no list of ops (nor an augment: / audio_augment: key)")
    kind, files, batch = load_inputs(input_path, count, sample_rate, seconds, size)
    expected = "audio" if kind == "audio" else "image"
    pipes = [Pipeline(spec, seed=seed, sample_rate=sample_rate) for spec in specs]
    # a recipe may hold several specs (the data's augment, a net's spec_augment): the one for these inputs
    pipe = next((p for p in pipes if p.domain in (None, expected)), None)
    if pipe is None:
        held = ", ".join(sorted({str(p.domain) for p in pipes}))
        raise ValueError(f"preview: {spec_path} holds {held} ops but {input_path} holds {kind}")
    if pipe.needs_fit:
        pipe.fit(batch)  # ZCA needs data: fit on the inputs themselves for the picture
    outputs = [pipe(batch) for _ in range(draws)]
    names = [f.name for f in files]
    normalise = any(op.name == "whiten" for op in pipe.ops)
    render(kind, names, batch, outputs, out, sample_rate, normalise)
    written = [out]
    if kind == "audio":
        import soundfile

        wav_dir = out.with_name(out.stem + "_wav")
        wav_dir.mkdir(parents=True, exist_ok=True)
        for k, y in enumerate(outputs, 1):
            for f, clip in zip(files, y):
                path = wav_dir / f"{f.stem}_draw{k}.wav"
                soundfile.write(path, np.clip(clip.T.numpy(), -1, 1), sample_rate)
                written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="blackmagic preview", description=__doc__.splitlines()[0])
    ap.add_argument("--spec", type=Path, required=True, help="spec YAML (a list, an augment: mapping, or a recipe)")
    ap.add_argument("--input", type=Path, required=True, help="an image/audio file or a folder of them")
    ap.add_argument("--out", type=Path, default=Path("preview.png"), help="PNG to write")
    ap.add_argument("--draws", type=int, default=4, help="fresh draws per input (columns)")
    ap.add_argument("--count", type=int, default=6, help="inputs to show (rows)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--sample-rate", type=int, default=16_000, help="audio is resampled to this rate")
    ap.add_argument("--seconds", type=float, default=None, help="crop audio to this length")
    ap.add_argument("--size", type=int, default=None, help="resize images to SIZE x SIZE")
    args = ap.parse_args(argv)
    try:
        written = preview(args.spec, args.input, args.out, args.draws, args.count, args.seed, args.sample_rate,
                          args.seconds, args.size)
    except (ValueError, FileNotFoundError) as e:
        ap.error(str(e))
    print(f"wrote {written[0]}" + (f" and {len(written) - 1} WAV files in {written[1].parent}" if len(written) > 1 else ""))
    return 0
