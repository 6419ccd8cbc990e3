"""A new espeak-ng voice for every clip: an installed voice variant with its formants moved.

espeak-ng is a formant synthesiser: a voice variant (``voices/!v/NAME`` in its data folder) sets the frequency,
height and width of each formant as a percentage of the language's own. Its hundred-odd variants are a hundred
fixed vocal tracts; a model trained on them learns those tracts. Scaling every formant frequency of a variant by
one factor per clip is a longer or shorter vocal tract (what vocal-tract-length perturbation does to a
spectrogram, here done by the synthesiser itself, so the harmonics stay where the pitch puts them), and a smaller
factor per formant changes the tract's shape. So no two clips come from the same voice.

espeak-ng reads variants only from its data folder, so a private copy is made under the set's scratch folder:
links to the installed files, and a real ``voices/!v`` folder where each clip's variant is written.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

FORMANTS = range(1, 9)  # espeak-ng's formants 1-8; formant 0 (a low nasal resonance) is left as it is
FORMANT_LINE = re.compile(r"^\s*formant\s+(\d+)\s+(.*)$")


def installed_data() -> Path:
    """The installed ``espeak-ng-data`` folder, as espeak-ng reports it."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Data at:\s*(\S+)", out)
    if found is None or not Path(found.group(1)).is_dir():
        raise RuntimeError(f"espeak-ng did not say where its data is (espeak-ng --version printed {out!r})")
    return Path(found.group(1))


def private_data(parent: Path) -> Path:
    """``parent`` holding an ``espeak-ng-data`` of links to the installed one, with a writable ``voices/!v``;
    returns ``parent`` (what espeak-ng's ``--path`` takes)."""
    source = installed_data()
    data = parent / "espeak-ng-data"
    (data / "voices" / "!v").mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name != "voices":
            (data / entry.name).symlink_to(entry)
    for entry in (source / "voices").iterdir():
        if entry.name != "!v":
            (data / "voices" / entry.name).symlink_to(entry)
    for entry in (source / "voices" / "!v").iterdir():
        (data / "voices" / "!v" / entry.name).symlink_to(entry)
    return parent


def draw_tract(rng: np.random.Generator, scale: list[float], jitter: float) -> list[float]:
    """Frequency factors for formants 1-8: one factor for the whole tract from ``scale``, times one within
    ``1 +- jitter`` for each formant."""
    tract = rng.uniform(*scale)
    return [round(float(tract * rng.uniform(1 - jitter, 1 + jitter)), 4) for _ in FORMANTS]


def variant_text(base: str, factors: list[float]) -> str:
    """The variant file ``base`` with formants 1-8's frequencies multiplied by ``factors`` (a formant the file
    does not set is at 100 %, height and width 100 %)."""
    kept, formants = [], {k: [100, 100, 100] for k in FORMANTS}
    for line in base.splitlines():
        found = FORMANT_LINE.match(line)
        if found and int(found.group(1)) in formants:
            formants[int(found.group(1))] = [int(v) for v in found.group(2).split()]
        else:
            kept.append(line)
    lines = [f"formant {k} {' '.join(str(v) for v in [round(values[0] * f), *values[1:]])}"
             for (k, values), f in zip(formants.items(), factors)]
    return "\n".join(kept + lines) + "\n"


def write_variant(data_parent: Path, voice: str, factors: list[float], name: str) -> str:
    """Write voice variant ``name`` (``voice`` with its formants moved) into the private data; returns ``name``."""
    folder = data_parent / "espeak-ng-data" / "voices" / "!v"
    (folder / name).write_text(variant_text((folder / voice).read_text(errors="replace"), factors))
    return name


def remove_variant(data_parent: Path, name: str) -> None:
    """Remove a variant ``write_variant`` wrote."""
    (data_parent / "espeak-ng-data" / "voices" / "!v" / name).unlink(missing_ok=True)
