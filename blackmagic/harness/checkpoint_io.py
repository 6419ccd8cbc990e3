"""Checkpoint files that survive a kill at any moment, and clear errors for the ones that did not.

Lightning writes a checkpoint through a temporary file in ``$TMPDIR`` and then moves it; where the run folder
is on another filesystem that move is a copy, and a kill during it leaves a 0-byte or truncated file in place
of the previous good one. Here the temporary file sits next to its final name, is flushed to disk, and
``os.replace`` swaps it in (atomic on POSIX): a kill leaves either the old file or the new one.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

TMP = re.compile(r"\.tmp(\d+)$")


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names it and says what to do."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a kill at any moment leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)


def remove_stale_temporaries(folder: Path) -> None:
    """Delete ``*.tmp<pid>`` files left in ``folder`` by processes that were killed mid-write."""
    for f in folder.glob("*.tmp*"):
        m = TMP.search(f.name)
        if m and not _alive(int(m.group(1))):
            f.unlink(missing_ok=True)


def read_checkpoint(path: Path | str, map_location: Any = "cpu") -> dict:
    """``torch.load`` a checkpoint, with an error naming the file when it is missing, truncated or not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the checkpoint is empty (0 bytes), likely cut off by a kill while it was "
                              f"written; use another checkpoint of the run (e.g. {path.with_name('last.ckpt')} or "
                              f"{path.with_name('best.ckpt')})")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for broken files
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {_first_line(e)}); it is "
                              "truncated or not a Lightning checkpoint. Use another checkpoint of the run, or train "
                              "anew without --ckpt_path") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no state_dict inside)")
    return checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with atomic writes next to the final file and clear errors on reading."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write(Path(path), buffer.getvalue())

    def load_checkpoint(self, path, map_location: Any | None = None, weights_only: bool | None = None) -> dict:
        return read_checkpoint(path, map_location if map_location is not None else "cpu")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (the folder's entry), where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else "no message"
