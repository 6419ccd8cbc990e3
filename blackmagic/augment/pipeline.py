"""The torch backend: a spec compiled into an ``nn.Module`` that augments whole batches on their device."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .draws import TorchDraws
from .geometry import resample
from .op import BuildContext
from .program import Stage, compile_spec
from .streams import Streams
from ..units import to_unit_float

RNG_STATE = "rng_state"
TILE_BYTES = {"audio": 1 << 20, "image": 1 << 22, "spectrogram": 1 << 22}  # measured on a 2-core CPU
UNIT_SLACK = 1e-3  # float images may stray this far outside [0, 1] (rounding of earlier processing)
ACTIVE_ROWS_ONLY = 0.5  # on CPU a stage runs on its active samples alone when they are at most this fraction


class Pipeline(nn.Module):
    """An augmentation spec applied per sample, with fresh random parameters on every call.

    Args:
        spec: a list of ``{op: {params}}`` items, YAML text, or a path to a YAML file (see ``load_spec``).
        seed: seeds the pipeline's own generators (one stream per device, DDP rank and DataLoader worker: see
            ``streams``); ``None`` draws a seed from torch's global generator, so ``torch.manual_seed`` makes the
            pipeline reproducible too.
        sample_rate: audio sample rate in Hz, needed by ops that work in seconds.
        tile_bytes: on CPU, the batch is processed in tiles of about this many bytes (float32) so that every
            op's passes stay in cache; one tile on GPU. Default: 1 MiB for audio, whose CPU kernels are
            NumPy calls that keep a tile in the core's own cache, 4 MiB for images and spectrograms.

    Shape:
        - Input: (B, C, H, W) images (uint8 or float in [0, 1]), (B, C, T) audio or (B, C, F, T) spectrograms.
        - Output: float32, same shape, same device. An empty batch (B = 0) gives an empty batch.

    The first batch seen on each device is checked once (no NaN or infinity; float images within [0, 1]);
    later batches are not scanned, so the hot path never synchronises with the device.

    Copies: a pipeline pickles (spawn / forkserver DataLoader workers, ``ddp_spawn``), deep-copies and
    ``torch.save``-s with its generators' states, so a copy continues the original's sequence exactly; inside a
    DataLoader worker or on another DDP rank it draws from that process's own stream instead (``streams``).
    ``state_dict()`` carries the same states (``rng_state()`` gives them alone), so a checkpoint resumes the
    sequence.

    Example:
        >>> pipe = Pipeline([{"rotate": {"degrees": 30}}, {"noise": {"std": [0, 0.05], "p": 0.5}}], seed=0)
        >>> pipe(torch.zeros(8, 3, 32, 32, dtype=torch.uint8)).shape
        torch.Size([8, 3, 32, 32])
    """

    def __init__(self, spec: Any, seed: int | None = None, sample_rate: int | None = None,
                 tile_bytes: int | None = None):
        super().__init__()
        self.program = compile_spec(spec, BuildContext(sample_rate=sample_rate))
        self.ops = nn.ModuleList(self.program.ops)
        self.domain = self.program.domain
        stages = self.program.stages
        self._copy_input = not stages or stages[0].ops[0].in_place  # no copy of inputs the first op only reads
        seed = int(torch.randint(0, 2**62, ()).item()) if seed is None else int(seed)
        self.streams = Streams(seed)
        self.tile_bytes = TILE_BYTES.get(self.domain, 1 << 22) if tile_bytes is None else tile_bytes
        self.last_params: dict[str, Any] | None = None
        self._checked: set[str] = set()  # devices whose first batch passed the value check

    @property
    def seed(self) -> int:
        return self.streams.seed

    def generator(self, device: torch.device) -> torch.Generator:
        """The generator this process draws from on ``device``: one stream per device, DDP rank and DataLoader
        worker (see ``streams``), so every process draws fresh parameters."""
        return self.streams.generator(torch.device(device))

    def reset(self) -> "Pipeline":
        """Start the random sequence again from the seed (e.g. to draw the same shifted test set every run)."""
        self.streams.reset()
        return self

    def rng_state(self) -> dict:
        """The seed and every stream's generator state (what a checkpoint keeps to resume the sequence)."""
        return self.streams.state()

    def load_rng_state(self, state: dict) -> "Pipeline":
        """Continue the random sequence from ``rng_state()``."""
        self.streams.load_state(state)
        return self

    def get_extra_state(self) -> dict:
        return self.rng_state()

    def set_extra_state(self, state: dict) -> None:
        self.load_rng_state(state)

    @property
    def needs_fit(self) -> bool:
        """Whether an op must learn from training data first (``whiten: {mode: zca}``): call ``fit``."""
        return any(op.needs_fit for op in self.ops)

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> "Pipeline":
        """Fit the ops that learn from training data (``whiten: {mode: zca}``) on a batch of training inputs."""
        x = to_unit_float(data)
        for op in self.ops:
            op.fit(x)
        return self

    def set_recordings(self, kind: str, clips) -> "Pipeline":
        """Give the ops that take recordings of ``kind`` (their ``Op.recordings``) their clips."""
        takers = [op for op in self.ops if op.recordings == kind]
        if not takers:
            raise ValueError(f"augment: this pipeline has no op that takes {kind} recordings")
        for op in takers:
            op.set_recordings(clips)
        return self

    def set_noise(self, clips) -> "Pipeline":
        """Give the ``background_noise`` ops their recordings (a list of (T,) waveforms at the sample rate)."""
        return self.set_recordings("noise", clips)

    def set_impulse_responses(self, responses) -> "Pipeline":
        """Give ``reverb: {source: files}`` ops their room impulse responses (a list of (T,) at the sample rate)."""
        return self.set_recordings("impulse_responses", responses)

    @property
    def mixes_batch(self) -> bool:
        """Whether the spec holds batch ops (mixup, cutmix), which need ``targets`` and return them mixed."""
        return bool(self.program.batch_ops)

    @torch.no_grad()
    def forward(self, x: torch.Tensor, params: dict | None = None, targets: torch.Tensor | None = None):
        """Augment a batch. Pass ``params=pipeline.last_params`` to replay the previous call exactly.

        ``targets`` (B, num_classes) probabilities (e.g. ``F.one_hot(y, K).float()``) are mixed along with the
        samples by batch ops; with targets the call returns ``(x, targets)``, and a spec with batch ops needs them.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"augment: a pipeline takes a torch.Tensor batch, got {type(x).__name__}")
        for op in self.ops:
            op.check_input(x)
        _check_dtype(x)
        _check_targets(targets, x, self.program.batch_ops)
        B, device = x.shape[0], x.device
        if B == 0:  # an empty batch stays empty
            out = torch.empty(x.shape, dtype=torch.float32, device=device)
            return out if targets is None else (out, targets)
        self._check_values(x)
        if params is None:
            g = self.generator(device)
            u = torch.rand(B, self.program.columns, generator=g, device=device)
            params = self.program.root.draw(TorchDraws(u), torch.ones(B, dtype=torch.bool, device=device))
            params[RNG_STATE] = g.get_state()  # where the data-sized draws (noise, masks) start
        else:
            _check_replay(params, B, self.ops)
            g = torch.Generator(device=device)
            g.set_state(params[RNG_STATE])
        work = {op.key: op.prepare(params[op.key], x) for op in self.ops}
        sparse = _sparse_stages(self.program.stages, work, x)
        tiles = self._tiles(x)
        if tiles is None:
            out = self._run(to_unit_float(x, self._copy_input), work, g, sparse)
        else:  # each tile is converted, augmented and written out while it is in cache
            out = torch.empty(x.shape, dtype=torch.float32)
            for rows in tiles:
                self._run_tile(x[rows], _rows(work, rows), g, out[rows], sparse)
        if self.program.batch_ops:  # across the whole batch, after every per-sample op, all with the same partners
            partners = out.roll(1, 0), targets.roll(1, 0)
            for op in self.program.batch_ops:
                out, targets = op.mix(out, targets, *partners, work[op.key])
        self.last_params = params
        return out if targets is None else (out, targets)

    def _run(self, x: torch.Tensor, params: dict, g: torch.Generator, sparse: list[bool],
             out: torch.Tensor | None = None) -> torch.Tensor:
        """The stages in turn (those marked in ``sparse`` on their active samples where few are); ``out`` is offered
        to the first one, which may write its result there."""
        for stage, few in zip(self.program.stages, sparse):
            x, out = (_run_stage(stage, x, params, g, out) if few else _apply_stage(stage, x, params, g, out)), None
        return x

    def _check_values(self, x: torch.Tensor) -> None:
        """On the first batch a pipeline sees on a device (one host sync, once): no NaN or infinity, and float
        images in [0, 1]. Later batches are not scanned, so the hot path never waits for the device."""
        key = str(x.device)
        if key in self._checked or not x.is_floating_point():
            return
        lo, hi = (float(v) for v in torch.aminmax(x.detach()))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"augment: the batch holds NaN or infinite values (shape {tuple(x.shape)}); "
                             "find them with torch.isfinite(x) and fix or drop those samples")
        if self.domain == "image" and (lo < -UNIT_SLACK or hi > 1 + UNIT_SLACK):
            raise ValueError(f"augment: float images must lie in [0, 1] (uint8 is scaled from 0..255); this batch "
                             f"spans [{lo:g}, {hi:g}]" + ("; divide by 255 first" if hi > 2 else ""))
        self._checked.add(key)

    def _run_tile(self, x: torch.Tensor, params: dict, g: torch.Generator, dest: torch.Tensor,
                  sparse: list[bool]) -> None:
        """Augment one tile into ``dest`` (a slice of the output) with as few copies as the ops allow: the
        input is converted straight into ``dest`` for ops that work in place, or a first op that only reads
        its input writes its result there; a result elsewhere is copied in."""
        if self._copy_input:
            result = self._run(to_unit_float(x, out=dest), params, g, sparse)
        else:
            result = self._run(to_unit_float(x, copy=False), params, g, sparse, out=dest)
        if not (result.data_ptr() == dest.data_ptr() and result.stride() == dest.stride()):
            dest.copy_(result)

    def _tiles(self, x: torch.Tensor) -> list[slice] | None:
        """Row ranges to process one after another on CPU, or ``None`` for the whole batch at once."""
        if x.device.type != "cpu" or not self.tile_bytes or x.shape[0] == 0:
            return None
        rows = max(1, self.tile_bytes // max(1, x[0].numel() * 4))  # float32 bytes per sample
        if rows >= x.shape[0]:
            return None
        return [slice(i, i + rows) for i in range(0, x.shape[0], rows)]


def _check_dtype(x: torch.Tensor) -> None:
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise TypeError(f"augment: inputs must be uint8 or floating point, got {x.dtype}")


def _rows(params: dict, rows: slice) -> dict:
    return {k: {n: v[rows] for n, v in p.items()} for k, p in params.items()}


def _sparse_stages(stages: list[Stage], params: dict, x: torch.Tensor) -> list[bool]:
    """Per stage, whether few of the batch's samples are active (``ACTIVE_ROWS_ONLY``), decided once per batch on
    CPU (reading the gates costs no sync there); only those stages look at each tile's gates again."""
    if x.device.type != "cpu":
        return [False] * len(stages)
    out = []
    for stage in stages:
        active = _stage_active(stage, params)
        out.append(active is not None and int(active.sum()) <= ACTIVE_ROWS_ONLY * len(active))
    return out


def _run_stage(stage: Stage, x: torch.Tensor, params: dict, g: torch.Generator, out: torch.Tensor | None):
    """A stage ``_sparse_stages`` marked (CPU only): where few of this tile's samples are active
    (``ACTIVE_ROWS_ONLY``), on those samples only, so that an op's cost follows the samples it changes
    (``one_of`` / ``some_of``); else on the whole tile."""
    active = _stage_active(stage, params)
    rows = active.nonzero()[:, 0]
    if rows.numel() <= ACTIVE_ROWS_ONLY * len(active):
        return _run_rows(stage, x, params, g, out, rows)
    return _apply_stage(stage, x, params, g, out)


def _apply_stage(stage: Stage, x: torch.Tensor, params: dict, g: torch.Generator, out: torch.Tensor | None):
    """A shared resampling for geometric ops, else the op's ``apply`` (offered ``out`` if given: only to a first op
    that is not in place)."""
    if stage.geometric:
        return resample(x, [(op, params[op.key]) for op in stage.ops])
    op = stage.op
    return op.apply(x, params[op.key], g) if out is None else op.apply(x, params[op.key], g, out=out)


def _stage_active(stage: Stage, params: dict) -> torch.Tensor | None:
    """The samples any op of the stage changes, or ``None`` where its parameters are not all per-sample tensors."""
    if not all(isinstance(v, torch.Tensor) for op in stage.ops for v in params[op.key].values()):
        return None
    active = params[stage.ops[0].key]["active"]
    for op in stage.ops[1:]:
        active = active | params[op.key]["active"]
    return active


def _run_rows(stage: Stage, x: torch.Tensor, params: dict, g: torch.Generator, out: torch.Tensor | None,
              rows: torch.Tensor) -> torch.Tensor:
    """The stage on samples ``rows`` of ``x`` only; the others pass through unchanged."""
    in_place = not stage.geometric and stage.op.in_place
    result = x if in_place else (torch.empty(x.shape, dtype=torch.float32) if out is None else out)
    if not in_place:
        result.copy_(x)
    if rows.numel():
        taken = {op.key: {k: v.index_select(0, rows) for k, v in params[op.key].items()} for op in stage.ops}
        result.index_copy_(0, rows, _apply_stage(stage, x.index_select(0, rows), taken, g, None))
    return result


def _check_targets(targets: torch.Tensor | None, x: torch.Tensor, batch_ops) -> None:
    if targets is None:
        if batch_ops:
            raise ValueError(f"augment: op '{batch_ops[0].name}' mixes labels too: call pipe(x, targets=...) with "
                             "(B, num_classes) probabilities, e.g. F.one_hot(y, num_classes).float()")
        return
    if not isinstance(targets, torch.Tensor) or targets.dim() != 2 or not targets.is_floating_point() \
            or targets.shape[0] != x.shape[0]:
        got = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
        raise ValueError(f"augment: targets must be ({x.shape[0]}, num_classes) float probabilities matching the "
                         f"batch, e.g. F.one_hot(y, num_classes).float(); got {got}")


def _check_replay(params: dict, batch: int, ops) -> None:
    """Replayed parameters must be a pipeline's ``last_params`` for a batch of this size."""
    missing = [op.key for op in ops if op.key not in params] + ([] if RNG_STATE in params else [RNG_STATE])
    if missing:
        raise ValueError(f"augment: params to replay lack {missing}; pass this pipeline's last_params")
    drawn = next((len(v) for op in ops for v in params[op.key].values()), batch)
    if drawn != batch:
        raise ValueError(f"augment: params to replay were drawn for a batch of {drawn} samples; this batch holds "
                         f"{batch}. Replay a batch of the same size (e.g. x[:{drawn}]).")


def build(spec: Any, backend: str = "torch", seed: int | None = None, **options) -> Pipeline:
    """Compile an augmentation spec for a backend.

    Args:
        spec: list of ``{op: {params}}`` items, YAML text, or a YAML file path.
        backend: ``"torch"`` (batched, any device) or ``"dali"`` (operators for a DALI ``pipeline_def``).
        seed: makes the sequence of random draws reproducible.
        options: backend options, e.g. ``sample_rate`` for audio ops that work in seconds.
    """
    if backend == "torch":
        return Pipeline(spec, seed=seed, **options)
    if backend == "dali":
        from .dali import DaliAugment

        return DaliAugment(spec, seed=seed, **options)
    raise ValueError(f"augment.build: unknown backend {backend!r}; choose 'torch' or 'dali'")
