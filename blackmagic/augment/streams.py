"""Which random stream a pipeline draws from, so that every process draws fresh parameters.

A pipeline keeps one ``torch.Generator`` per stream, and a stream is (device, DDP rank, DataLoader worker):

- in the main process of rank 0 the stream is seeded with the pipeline's seed itself;
- on another DDP rank, the seed is mixed with the rank, so ranks never augment in lockstep;
- in a DataLoader worker it is mixed with torch's seed for that worker (``get_worker_info().seed``). torch draws
  a new base seed from its global generator every time a loader is iterated, so workers that are started
  afresh each epoch (``persistent_workers=False``) get new streams each epoch instead of replaying the copy of
  the pipeline they were forked or unpickled from, workers differ from each other and from the main process,
  and ``torch.manual_seed`` (or ``lightning.seed_everything``) before the loop reproduces the whole run.
  Persistent workers keep their stream, which simply goes on from epoch to epoch.

``Streams`` pickles and deep-copies with the generators' states: a copy continues exactly where the original
was (and, moved into a worker, switches to that worker's own stream).
"""
from __future__ import annotations

import hashlib

import torch


def current_stream(device: torch.device) -> str:
    """The key of the stream that draws on ``device`` in this process: ``"device|rank|worker seed"``."""
    rank = torch.distributed.get_rank() if torch.distributed.is_available() and torch.distributed.is_initialized() else 0
    info = torch.utils.data.get_worker_info()
    worker = "" if info is None else str(info.seed)
    return f"{device}|{rank}|{worker}"


def stream_seed(seed: int, key: str) -> int:
    """The seed of a stream: the pipeline's seed on rank 0's main process, else a hash of (seed, rank, worker)."""
    _, rank, worker = key.split("|")
    if rank == "0" and not worker:
        return seed
    digest = hashlib.blake2b(f"{seed}|{rank}|{worker}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1  # 63 bits: what manual_seed takes


class Streams:
    """The generators of one pipeline, created on first use, one per stream key (see module docstring)."""

    def __init__(self, seed: int):
        self.seed = seed
        self._generators: dict[str, torch.Generator] = {}
        self._pending: dict[str, torch.Tensor] = {}  # states loaded for streams not yet used here

    def generator(self, device: torch.device) -> torch.Generator:
        key = current_stream(device)
        g = self._generators.get(key)
        if g is None:
            g = torch.Generator(device=device)
            state = self._pending.pop(key, None)
            if state is None:
                g.manual_seed(stream_seed(self.seed, key))
            else:
                g.set_state(state)
            self._generators[key] = g
        return g

    def reset(self) -> None:
        """Forget every stream: the next draws start again from the seed."""
        self._generators.clear()
        self._pending.clear()

    def state(self) -> dict:
        """The seed and the state of every stream (CPU byte tensors), for checkpoints."""
        states = {**self._pending, **{k: g.get_state() for k, g in self._generators.items()}}
        return {"seed": self.seed, "streams": states}

    def load_state(self, state: dict) -> None:
        """Continue from ``state`` (from ``state()``); streams of devices absent here wait until they are used."""
        self.seed = int(state["seed"])
        self._generators.clear()
        self._pending = {k: v.clone() for k, v in state["streams"].items()}

    def __getstate__(self) -> dict:
        return self.state()

    def __setstate__(self, state: dict) -> None:
        self._generators = {}
        self.load_state(state)
