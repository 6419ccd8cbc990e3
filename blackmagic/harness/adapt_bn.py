"""Test-time BatchNorm adaptation: each test set normalised with its own feature statistics.

A net's BatchNorm layers normalise with the mean and variance they saw in training. On data from elsewhere (a real
microphone after synthetic speech, a blurred or darkened camera) those statistics are off, and every layer after the
first passes the shift on. Re-estimating them on the test inputs themselves, with no labels, takes much of that
shift out (AdaBN, Li et al. 2016; Schneider et al. 2020, "Improving robustness against common corruptions by
covariate shift adaptation"). The weights are not changed; the training statistics come back after testing.

On the command line, for a test or a robustness report:
    blackmagic test -c RECIPE --ckpt_path CKPT --trainer.callbacks+=blackmagic.harness.AdaptBatchNorm
and per speaker (a folder of recordings, a keyword set: the speaker read from each test file's name):
    ... --trainer.callbacks+=blackmagic.harness.AdaptBatchNorm --trainer.callbacks.per_speaker=true
"""
from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch import nn

from .speakers import SPEECH_COMMANDS, SpeakerPattern

Stats = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # (mean, var, batches seen) per BatchNorm layer


class AdaptBatchNorm(L.Callback):
    """Before testing, estimate every BatchNorm layer's mean and variance on each test set's inputs (the clean
    test set and every shifted copy, each on its own), then test each set with its own statistics.

    Args:
        prior: the share of the training statistics in the mix, in [0, 1): ``prior * training + (1 - prior) *
            test set``. 0 takes the test set's alone (right for a test set of hundreds of samples or more); a
            larger share steadies the estimate on a small one.
        max_batches: estimate from at most this many batches of each test set (default: the batches tested).
        per_speaker: statistics of each speaker's recordings, each sample normalised with its speaker's (a voice
            and a microphone are what a speaker's recordings share). The speaker is read from the datamodule's
            ``test_files`` with ``speaker_pattern``; files without one, and speakers with a single file, take the
            whole test set's statistics. Keeps each test set's inputs in memory while estimating; one process.
        speaker_pattern: how a file's name gives its speaker (``speakers.SpeakerPattern``; as ``AccuracyReport``).

    The estimate passes every test batch through the net once more (no gradients), the same batches that are
    then tested: a shifted test set's fixed seed is rewound before testing.
    """

    def __init__(self, prior: float = 0.0, max_batches: int | None = None, per_speaker: bool = False,
                 speaker_pattern: str = SPEECH_COMMANDS):
        if not 0.0 <= prior < 1.0:
            raise ValueError(f"AdaptBatchNorm: prior must be in [0, 1), got {prior} (1 would keep the training "
                             "statistics: leave the callback out instead)")
        if max_batches is not None and max_batches < 1:
            raise ValueError(f"AdaptBatchNorm: max_batches must be >= 1, got {max_batches}")
        if per_speaker and max_batches is not None:
            raise ValueError("AdaptBatchNorm: per_speaker estimates from every test sample; leave max_batches out")
        self.prior, self.max_batches, self.per_speaker = prior, max_batches, per_speaker
        self.pattern = SpeakerPattern(speaker_pattern)
        self._layers: list[nn.modules.batchnorm._BatchNorm] = []
        self._training: Stats = []
        self._adapted: list[Stats] = []  # per test set; per speaker: (G, C) rows, one per speaker
        self._current: int | None = None
        self._speaker_ids: torch.Tensor | None = None  # per test sample
        self._batch_speakers: torch.Tensor | None = None  # per sample of the batch being tested
        self._offset = 0
        self._nobody: int | None = None
        self._hooks: list = []

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._layers = batch_norms(pl_module)
        if not self._layers:
            raise ValueError(f"AdaptBatchNorm: {type(pl_module).__name__} has no BatchNorm layer with running "
                             "statistics to adapt")
        if self.per_speaker:
            self._speaker_ids = self._speakers(trainer)
        self._training = snapshot(self._layers)
        loaders = trainer.test_dataloaders
        loaders = list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]
        self._adapted = [self._estimate(trainer, pl_module, i, loader, len(loaders))
                         for i, loader in enumerate(loaders)]
        restore(self._layers, self._training)
        self._current = None
        if self.per_speaker:
            self._hooks = [m.register_forward_hook(self._per_sample(i)) for i, m in enumerate(self._layers)]
        rewind = getattr(trainer.datamodule, "rewind_test_shifts", None)
        if rewind is not None:  # test the very batches the statistics came from
            rewind()

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx: int = 0) -> None:
        if dataloader_idx != self._current:
            self._current, self._offset = dataloader_idx, 0
            if not self.per_speaker:
                restore(self._layers, self._adapted[dataloader_idx])
        if self.per_speaker:
            n = len(batch[1])
            self._batch_speakers = self._speaker_ids[self._offset : self._offset + n].to(pl_module.device)
            self._offset += n

    def on_test_end(self, trainer, pl_module) -> None:
        self._put_back()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._put_back()

    def _put_back(self) -> None:
        for hook in self._hooks:
            hook.remove()
        if self._training:
            restore(self._layers, self._training)
        self._training, self._adapted, self._current, self._hooks, self._batch_speakers = [], [], None, [], None

    # ---- estimating ------------------------------------------------------------------------------------
    def _estimate(self, trainer: L.Trainer, pl_module: L.LightningModule, index: int, loader, count: int) -> Stats:
        title = f"BatchNorm statistics of test set {index + 1}/{count}"
        inputs = _inputs(trainer, pl_module, index, loader, _limit(trainer, index, self.max_batches), title)
        if not self.per_speaker:
            stats = measure(trainer, pl_module, self._layers, inputs)
            if stats is None:
                raise ValueError(f"AdaptBatchNorm: test set {index + 1} gave no batch to estimate statistics from")
            return self._mixed(stats)
        x = torch.cat(list(inputs))
        ids = self._speaker_ids
        if len(x) != len(ids):
            raise ValueError(f"AdaptBatchNorm: test set {index + 1} gave {len(x)} samples for the datamodule's "
                             f"{len(ids)} test_files; per_speaker needs every test file, in order (no "
                             "limit_test_batches)")
        size = getattr(trainer.datamodule, "eval_batch_size", None) or 64
        whole: Stats | None = None  # the whole set's, measured only where a speaker needs them
        rows = []
        for g in range(int(ids.max()) + 1):
            mine = x[ids == g]
            if len(mine) > 1 and g != self._nobody:
                rows.append(self._mixed(measure(trainer, pl_module, self._layers, chunks(mine, size))))
                continue
            if whole is None:
                whole = self._mixed(measure(trainer, pl_module, self._layers, chunks(x, size)))
            rows.append(whole)
        return [tuple(torch.stack(parts) for parts in zip(*layer)) for layer in zip(*rows)]

    def _mixed(self, stats: Stats) -> Stats:
        p = self.prior
        return [(p * mean + (1 - p) * m, p * var + (1 - p) * v, count)
                for (m, v, _), (mean, var, count) in zip(stats, self._training)]

    def _speakers(self, trainer: L.Trainer) -> torch.Tensor:
        dm = trainer.datamodule
        files = getattr(dm, "test_files", None)
        if files is None:
            raise ValueError(f"AdaptBatchNorm: per_speaker needs the test files' names; {type(dm).__name__} has "
                             "no test_files (folder and keyword datamodules have)")
        if trainer.world_size > 1:
            raise ValueError("AdaptBatchNorm: per_speaker runs in one process (the test files are in one order)")
        names = self.pattern.speakers(files)
        if names is None:
            raise ValueError(f"AdaptBatchNorm: no test file's name gives a speaker with speaker_pattern "
                             f"{self.pattern.source!r} (e.g. {Path(files[0]).name if files else 'no files'})")
        index = {name: i for i, name in enumerate(dict.fromkeys(names))}
        self._nobody = index.get(None)  # the files without a speaker
        return torch.tensor([index[n] for n in names])

    # ---- testing per speaker ---------------------------------------------------------------------------
    def _per_sample(self, layer: int):
        def hook(module: nn.modules.batchnorm._BatchNorm, inputs, output):
            speakers = self._batch_speakers
            if speakers is None:
                return None
            x = inputs[0]
            if len(x) != len(speakers):
                raise RuntimeError(f"AdaptBatchNorm: a BatchNorm layer saw {len(x)} samples of a test batch of "
                                   f"{len(speakers)}; per_speaker needs the batch's samples in order")
            mean, var, _ = self._adapted[self._current][layer]
            shape = (len(x), -1) + (1,) * (x.dim() - 2)
            y = (x.float() - mean[speakers].view(shape)) * torch.rsqrt(var[speakers].view(shape) + module.eps)
            if module.affine:
                y = y * module.weight.view(1, -1, *shape[2:]) + module.bias.view(1, -1, *shape[2:])
            return y.to(output.dtype)

        return hook


@torch.no_grad()
def measure(trainer: L.Trainer, pl_module: L.LightningModule, layers, inputs) -> Stats | None:
    """The BatchNorm layers' mean and variance over ``inputs`` (an iterable of batches), as each layer sees them
    when every layer before it normalises with the same inputs' statistics; ``None`` if there is no batch."""
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
        m.train()
    seen = 0
    try:
        for x in inputs:
            with trainer.precision_plugin.test_step_context():
                pl_module(x)
            seen += 1
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
            m.eval()
    return snapshot(layers) if seen else None


def chunks(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """``x`` in batches of ``size``, the last one of one sample joined to the one before (BatchNorm needs two)."""
    parts = list(x.split(size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return parts


def _inputs(trainer: L.Trainer, pl_module: L.LightningModule, index: int, loader, limit: int | None, title: str):
    """A test loader's inputs as the test step gets them (on the device, shifted), at most ``limit`` batches."""
    from rich.progress import Progress

    seen = 0
    shown = trainer.is_global_zero and trainer.progress_bar_callback is not None
    with Progress(transient=True, disable=not shown) as bar:
        task = bar.add_task(title, total=None)
        for batch in loader:  # to the end, not broken off: a DALI loader would go on from there
            if limit is not None and seen >= limit:
                continue
            seen += 1
            batch = pl_module._on_before_batch_transfer(batch, dataloader_idx=index)
            yield trainer.strategy.batch_to_device(batch, dataloader_idx=index)[0]
            bar.advance(task)


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers (1d, 2d, 3d) that keep running statistics, in module order."""
    return [m for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.running_mean is not None]


def snapshot(layers) -> Stats:
    return [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in layers]


def restore(layers, stats: Stats) -> None:
    for m, (mean, var, count) in zip(layers, stats):
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.num_batches_tracked.copy_(count)


def _limit(trainer: L.Trainer, index: int, max_batches: int | None) -> int | None:
    """Batches to estimate from: those the trainer will test (``limit_test_batches``), at most ``max_batches``."""
    tested = trainer.num_test_batches
    n = tested[index] if isinstance(tested, list) and index < len(tested) else float("inf")
    n = None if n == float("inf") else int(n)
    if max_batches is not None:
        n = max_batches if n is None else min(n, max_batches)
    return n
