"""Class-folder datasets: finding the files, splitting them, and decoding them once into a memory-mapped cache.

Layouts understood, under ``root``:
- ``root/CLASS/file``: one pool, split by seed (stratified) into train / val / test;
- ``root/{train,val,test}/CLASS/file``: the split given by the folders;
- Speech Commands: ``root/CLASS/file`` with ``validation_list.txt`` and ``testing_list.txt`` naming the val and
  test files, and ``_background_noise_/`` (noise for augmentation, never a class).

A folder can also be a whole test set on its own (``test_set``): every file of its class folders, whatever lists
it holds, with its class names mapped onto a datamodule's.

Hidden files and folders (``.name``, e.g. macOS ``._clip.wav``) are skipped; other files in a class folder
that are not of a readable kind are skipped with a warning that names them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..io import DataError

SPLIT_DIRS = ("train", "val", "test")
IGNORED = {"_background_noise_"}
HOST = socket.gethostname()


@dataclass
class FileSplits:
    class_names: list[str]
    files: dict[str, list[Path]] = field(default_factory=dict)  # split -> files
    labels: dict[str, list[int]] = field(default_factory=dict)  # split -> label per file


def class_files(root: Path, suffixes: set[str]) -> dict[str, list[Path]]:
    """``CLASS -> sorted files`` for the class folders directly under ``root``; errors name what is wrong."""
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in IGNORED and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class folders; expected {root}/CLASS/file{sorted(suffixes)[0]} ...")
    found, ignored = {}, []
    for c in classes:
        files = sorted(f for f in c.rglob("*") if f.is_file() and not _hidden(f, c))
        kept = [f for f in files if f.suffix.lower() in suffixes]
        others = [f for f in files if f.suffix.lower() not in suffixes]
        if not kept:
            held = f" (only {_some(others, c)})" if others else ""
            raise DataError(f"{c}: empty class folder; it holds no {', '.join(sorted(suffixes))} files{held}")
        found[c.name] = kept
        ignored += others
    if ignored:
        warnings.warn(f"{root}: ignoring {len(ignored)} files that are not {', '.join(sorted(suffixes))}: "
                      f"{_some(ignored, root)}; convert them, or move them out to silence this", stacklevel=2)
    return found


def _hidden(f: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in f.relative_to(folder).parts)


def _some(files: list[Path], folder: Path, shown: int = 5) -> str:
    """The first few ``files`` relative to ``folder``, and how many more."""
    names = ", ".join(f.relative_to(folder).as_posix() for f in files[:shown])
    return names + (f" and {len(files) - shown} more" if len(files) > shown else "")


def scan(root: Path, suffixes: set[str], val_fraction: float, test_fraction: float, seed: int,
         required: tuple[str, ...] = SPLIT_DIRS) -> FileSplits:
    """Find the files of each split, by folder layout, by Speech Commands lists, or by a seeded split; each split in
    ``required`` must hold files (a datamodule that tests on another folder needs no test split here)."""
    root = Path(root)
    if all((root / d).is_dir() for d in SPLIT_DIRS):
        per_split = {d: class_files(root / d, suffixes) for d in SPLIT_DIRS}
        names = sorted(per_split["train"])
        for d in ("val", "test"):
            extra = sorted(set(per_split[d]) - set(names))
            if extra:
                raise DataError(f"{root / d}: classes {extra} do not appear in {root / 'train'}")
        out = FileSplits(names)
        for d, classes in per_split.items():
            out.files[d] = [f for c in sorted(classes) for f in classes[c]]
            out.labels[d] = [names.index(c) for c in sorted(classes) for _ in classes[c]]
        return out
    classes = class_files(root, suffixes)
    names = sorted(classes)
    pool = [(f, names.index(c)) for c in names for f in classes[c]]
    lists = {d: root / f for d, f in (("val", "validation_list.txt"), ("test", "testing_list.txt"))}
    if all(p.is_file() for p in lists.values()):
        named = {d: {line.strip() for line in p.read_text().splitlines() if line.strip()} for d, p in lists.items()}
        which = lambda f: next((d for d in ("val", "test") if f.relative_to(root).as_posix() in named[d]), "train")  # noqa: E731
    else:
        which = _seeded_split(pool, val_fraction, test_fraction, seed)
    out = FileSplits(names, {d: [] for d in SPLIT_DIRS}, {d: [] for d in SPLIT_DIRS})
    for f, label in pool:
        d = which(f)
        out.files[d].append(f)
        out.labels[d].append(label)
    for d in required:
        if not out.files[d]:
            raise DataError(f"{root}: the {d} split is empty; add files or raise val_fraction / test_fraction")
    return out


def test_set(root: Path, suffixes: set[str], class_names: list[str] | None = None) -> FileSplits:
    """Every file in ``root``'s class folders as one test split (Speech Commands lists and the val / test
    fractions do not apply), labelled by ``class_names`` (default: the folder's own classes, sorted); a class
    folder whose name is not one of them is refused."""
    root = Path(root)
    if all((root / d).is_dir() for d in SPLIT_DIRS):
        raise DataError(f"{root}: holds train/val/test folders, not class folders; to test on one of them, point "
                        f"test_root at it (e.g. {root / 'test'})")
    classes = class_files(root, suffixes)
    names = sorted(classes) if class_names is None else list(class_names)
    unknown = sorted(set(classes) - set(names))
    if unknown:
        raise DataError(f"{root}: class folders {unknown} are not classes of this datamodule {names}; rename or "
                        "remove them (class names are matched by name)")
    files = [f for c in sorted(classes) for f in classes[c]]
    labels = [names.index(c) for c in sorted(classes) for _ in classes[c]]
    return FileSplits(names, {"train": [], "val": [], "test": files}, {"train": [], "val": [], "test": labels})


def _seeded_split(pool, val_fraction: float, test_fraction: float, seed: int) -> Callable[[Path], str]:
    """Stratified: within each class, a seeded shuffle, then the first files to test, the next to val."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"val_fraction + test_fraction must be < 1 and each in [0, 1), got {val_fraction}, {test_fraction}")
    rng = np.random.default_rng(seed)
    assign: dict[Path, str] = {}
    for label in sorted({lab for _, lab in pool}):
        files = [f for f, lab in pool if lab == label]
        order = rng.permutation(len(files))
        n_test = max(1, round(test_fraction * len(files))) if test_fraction else 0
        n_val = max(1, round(val_fraction * len(files))) if val_fraction else 0
        for rank, i in enumerate(order):
            assign[files[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return assign.__getitem__


def cache_key(files: list[Path], options: dict) -> str:
    """Changes when any file or a decoding option changes.

    Size and mtime alone miss a rewrite that kept both (``touch -r``, ``os.utime``, copies that preserve
    times); the inode and ctime do not, since any write or replacement updates them and no call sets them back.
    """
    h = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}\n".encode())
    return h.hexdigest()[:20]


def default_cache_dir() -> Path:
    return Path(os.environ.get("BLACKMAGIC_CACHE", Path.home() / ".cache" / "blackmagic"))


def decode_to_memmap(files: list[Path], decode: Callable[[Path], np.ndarray], shape: tuple[int, ...], dtype,
                     path: Path, title: str) -> np.memmap:
    """Decode every file once into ``path`` (N, *shape), with a progress bar; reuse a complete earlier cache.

    The cache is written under a temporary name (``<name>.tmp<pid>@<host>``) and renamed when complete, so an
    interrupted run never leaves a half-written cache behind; what a killed run left is removed next time.
    """
    done = path.with_name(path.name + ".done")
    if path.is_file() and done.is_file():
        return np.memmap(path, dtype=dtype, mode="r", shape=(len(files), *shape))
    from rich.progress import Progress

    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}@{HOST}")
    try:
        out = _new_memmap(tmp, dtype, (len(files), *shape))
        with Progress(transient=True) as bar:
            task = bar.add_task(title, total=len(files))
            for i, f in enumerate(files):
                out[i] = decode(f)
                bar.advance(task)
        out.flush()
        del out
        os.replace(tmp, path)
        done.write_text("ok\n")
    finally:
        if tmp.exists():
            tmp.unlink()
    return np.memmap(path, dtype=dtype, mode="r", shape=(len(files), *shape))


def _new_memmap(tmp: Path, dtype, shape: tuple[int, ...]) -> np.memmap:
    """A new memmap at ``tmp``, in a folder cleared of stale temporary files; an unwritable folder is refused."""
    folder = tmp.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(folder)
        return np.memmap(tmp, dtype=dtype, mode="w+", shape=shape)
    except OSError as e:
        raise DataError(f"{folder}: cannot write the decoded cache there ({e.strerror or e}); point cache_dir: in "
                        "the recipe (data.init_args.cache_dir) or $BLACKMAGIC_CACHE at a writable folder") from None


def remove_stale_temp_files(folder: Path) -> None:
    """Delete the temporary cache files and folders (``<name>.tmp<pid>@<host>``) in ``folder`` of processes of this
    host that no longer run.

    Those of live processes (another run decoding right now) and of other hosts (a shared cache folder) stay.
    """
    for f in folder.glob("*.tmp*@*"):
        stem, _, host = f.name.rpartition("@")
        pid = stem.rpartition(".tmp")[2]
        if host == HOST and pid.isdigit() and not _running(int(pid)):
            if f.is_dir():
                shutil.rmtree(f, ignore_errors=True)
            else:
                f.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True
