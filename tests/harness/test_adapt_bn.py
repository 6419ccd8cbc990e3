"""``AdaptBatchNorm``: each test set is tested with BatchNorm statistics of its own inputs, and only while testing."""
import lightning as L
import pytest
import torch
from torch import nn

from blackmagic.harness import AdaptBatchNorm
from blackmagic.harness.cli import BlackmagicCLI

from .helpers import PatternDataModule, PooledNet, train_checkpoint, write_recipe

SUITE = "{bright: [[color_shift: {shift: [0.3, 0.3], p: 1}]], noisy: [[noise: {std: [0.2, 0.2], p: 1}]]}"


class NormedNet(nn.Module):
    """BatchNorm on the raw input, then ``PooledNet``: the first layer's statistics are the input's own."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.head = PooledNet(in_channels, num_classes)

    def forward(self, x):
        return self.head(self.norm(x))


class FedPatterns(PatternDataModule):
    """The same images, also through DALI (``feed: dali``), whose loaders are iterators that must run to the end."""

    @property
    def feeds(self):
        from blackmagic.datamodules.dali_feeds import DaliArrayFeed

        return {**PatternDataModule.feeds, "dali": DaliArrayFeed}


class Probe(L.Callback):
    """Per test set: the mean of its batches' input means, and the first BatchNorm's statistics while testing it."""

    def __init__(self):
        self.batch_means: dict[int, list[torch.Tensor]] = {}
        self.batches: dict[int, list[torch.Tensor]] = {}
        self.running: dict[int, torch.Tensor] = {}

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self.batch_means.setdefault(dataloader_idx, []).append(batch[0].mean(dim=(0, 2, 3)))
        self.batches.setdefault(dataloader_idx, []).append(batch[0].clone())
        self.running[dataloader_idx] = first_norm(pl_module).running_mean.clone()


def first_norm(module) -> nn.BatchNorm2d:
    return next(m for m in module.modules() if isinstance(m, nn.BatchNorm2d))


def build(tmp_path, *callbacks, feed: str = "torch", data: str = "FedPatterns", batch: int = 8):
    recipe = write_recipe(tmp_path, f"tests.harness.test_adapt_bn.{data}")
    args = ["-c", str(recipe), "--model.init_args.net", "tests.harness.test_adapt_bn.NormedNet",
            "--data.init_args.test_shifts", SUITE, "--data.init_args.eval_batch_size", str(batch),
            "--trainer.logger=false", "--data.init_args.feed", feed]
    cli = BlackmagicCLI(args=args, run=False, save_config_callback=None)
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=list(callbacks))
    norm = first_norm(cli.model)
    norm.running_mean.fill_(5.0)  # training statistics far from any test set's
    norm.running_var.fill_(4.0)
    return trainer, cli.model, cli.datamodule


@pytest.mark.parametrize("feed", ["torch", "dali"])
def test_each_test_set_is_normalised_with_its_own_input_statistics(tmp_path, feed):
    if feed == "dali":
        pytest.importorskip("nvidia.dali")
    probe = Probe()
    trainer, model, data = build(tmp_path, AdaptBatchNorm(), probe, feed=feed)
    trainer.test(model, datamodule=data, verbose=False)
    assert sorted(probe.running) == [0, 1, 2]  # clean, bright, noisy
    for idx, means in probe.batch_means.items():
        expected = torch.stack(means).mean(0)  # BatchNorm's cumulative average: over batches
        assert torch.allclose(probe.running[idx], expected, atol=1e-5), idx
    assert probe.running[1].item() > probe.running[0].item() + 0.5  # brightness 0.3 in [0, 1] units is 0.6 in [-1, 1]


def test_training_statistics_come_back_after_testing(tmp_path):
    trainer, model, data = build(tmp_path, AdaptBatchNorm())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.test(model, datamodule=data, verbose=False)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize("feed, limit", [("torch", None), ("dali", None), ("dali", 1)])
def test_the_tested_batches_are_those_tested_without_it(tmp_path, feed, limit):
    if feed == "dali":
        pytest.importorskip("nvidia.dali")
    plain, adapted = Probe(), Probe()
    trainer, model, data = build(tmp_path, plain, feed=feed)
    trainer.test(model, datamodule=data, verbose=False)
    trainer, model, data = build(tmp_path, AdaptBatchNorm(max_batches=limit), adapted, feed=feed)
    results = trainer.test(model, datamodule=data, verbose=False)
    for idx in plain.batches:
        assert len(plain.batches[idx]) == len(adapted.batches[idx]) > 1
        assert all(torch.equal(a, b) for a, b in zip(plain.batches[idx], adapted.batches[idx]))
    assert len(results) == 3


def test_prior_mixes_training_and_test_statistics(tmp_path):
    pure, mixed = Probe(), Probe()
    trainer, model, data = build(tmp_path, AdaptBatchNorm(), pure)
    trainer.test(model, datamodule=data, verbose=False)
    trainer, model, data = build(tmp_path, AdaptBatchNorm(prior=0.25), mixed)
    trainer.test(model, datamodule=data, verbose=False)
    for idx in pure.running:
        assert torch.allclose(mixed.running[idx], 0.25 * 5.0 + 0.75 * pure.running[idx], atol=1e-5)


def test_max_batches_limits_the_estimate(tmp_path):
    probe = Probe()
    trainer, model, data = build(tmp_path, AdaptBatchNorm(max_batches=1), probe)
    trainer.test(model, datamodule=data, verbose=False)
    assert len(probe.batch_means[0]) > 1  # the test itself is not limited
    assert torch.allclose(probe.running[0], probe.batch_means[0][0], atol=1e-5)


def test_from_the_command_line(tmp_path, capsys):
    from blackmagic.cli import main

    recipe = write_recipe(tmp_path)
    cli = BlackmagicCLI(args=["-c", str(recipe), "--model.init_args.net", "tests.harness.test_adapt_bn.NormedNet",
                              "--trainer.logger=false", "--trainer.max_epochs", "1"], run=False,
                        save_config_callback=None)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.save_checkpoint(tmp_path / "net.ckpt")
    assert main(["test", "-c", str(recipe), "--model.init_args.net", "tests.harness.test_adapt_bn.NormedNet",
                 "--runs_dir", str(tmp_path / "runs"), "--ckpt_path", str(tmp_path / "net.ckpt"),
                 "--trainer.callbacks+=blackmagic.harness.AdaptBatchNorm",
                 "--trainer.callbacks.prior=0.5"]) == 0
    assert "test_acc" in capsys.readouterr().out


def test_a_robustness_report_with_it_undoes_a_global_lighting_shift(tmp_path):
    from blackmagic.harness.robustness import robustness

    recipe = write_recipe(tmp_path)
    normed = recipe.read_text().replace("tests.harness.helpers.PooledNet", "tests.harness.test_adapt_bn.NormedNet")
    recipe.write_text(normed)
    ckpt = train_checkpoint(recipe, tmp_path / "net.ckpt", epochs=6)
    suite = {"bright": [[{"color_shift": {"shift": [0.6, 0.6], "p": 1}}]],
             "dim": [[{"color_shift": {"contrast": [0.3, 0.3], "shift": [-0.4, -0.4], "p": 1}}]]}
    plain_rows = robustness(recipe, [ckpt], suite)
    adapt = ["--trainer.callbacks+=blackmagic.harness.AdaptBatchNorm"]
    both = robustness(recipe, [ckpt], suite, tmp_path / "both", overrides=adapt, earlier=plain_rows)
    assert [r.checkpoint for r in both] == [str(ckpt)] * 3 + [f"{ckpt} [AdaptBatchNorm]"] * 3  # side by side
    plain = {r.corruption: r.accuracy for r in plain_rows}
    adapted = {r.corruption: r.accuracy for r in both[3:]}
    assert plain["clean"] == adapted["clean"] == 1.0
    assert plain["bright"] < 0.7 and plain["dim"] < 0.7  # the training statistics no longer fit
    assert adapted["bright"] == adapted["dim"] == 1.0
    with pytest.raises(ValueError, match=r"an earlier report already holds .*net.ckpt \[AdaptBatchNorm\]; its rows"):
        robustness(recipe, [ckpt], suite, overrides=adapt, earlier=both)
    speakers = ["--trainer.callbacks.per_speaker=true",
                "--data.class_path", "tests.harness.test_adapt_bn.SpeakerPatterns"]
    per_speaker = robustness(recipe, [ckpt], suite, overrides=[*adapt, *speakers])
    assert {r.checkpoint for r in per_speaker} == {f"{ckpt} [AdaptBatchNorm per speaker]"}


@pytest.mark.parametrize("kwargs, message", [({"prior": 1.0}, r"prior must be in \[0, 1\)"),
                                             ({"prior": -0.1}, r"prior must be in \[0, 1\)"),
                                             ({"max_batches": 0}, "max_batches must be >= 1")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AdaptBatchNorm(**kwargs)


def test_a_net_without_batchnorm_is_refused(tmp_path):
    recipe = write_recipe(tmp_path)
    cli = BlackmagicCLI(args=["-c", str(recipe), "--trainer.logger=false"], run=False, save_config_callback=None)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[AdaptBatchNorm()])
    with pytest.raises(ValueError, match="ClassifierModule has no BatchNorm layer"):
        trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)


# ---- per speaker ---------------------------------------------------------------------------------------------
class SpeakerPatterns(PatternDataModule):
    """The test images alternate between speakers ``a`` and ``b``; b's are brighter (another microphone)."""

    def load(self):
        splits = super().load()
        test = splits["test"]
        test.x[1::2] = (test.x[1::2].int() + 60).clamp(max=255).to(torch.uint8)
        return splits

    @property
    def test_files(self):
        return [f"{'ab'[i % 2]}_nohash_{i}.png" for i in range(30)]


class NormedOutputs(L.Callback):
    """The first BatchNorm's outputs while testing, per test set, as the layer finally gives them."""

    def __init__(self):
        self.outputs: dict[int, list[torch.Tensor]] = {}
        self.current = 0

    def on_test_start(self, trainer, pl_module):  # after AdaptBatchNorm's: its hook runs first
        first_norm(pl_module).register_forward_hook(lambda m, i, out: self.outputs.setdefault(self.current, [])
                                                    .append(out.detach().clone()))

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.current = dataloader_idx


def speaker_build(tmp_path, *callbacks):
    return build(tmp_path, *callbacks, data="SpeakerPatterns", batch=15)


@pytest.mark.parametrize("per_speaker", [True, False])
def test_per_speaker_each_speakers_samples_are_normalised_with_their_own_statistics(tmp_path, per_speaker):
    seen = NormedOutputs()
    trainer, model, data = speaker_build(tmp_path, AdaptBatchNorm(per_speaker=per_speaker), seen)
    trainer.test(model, datamodule=data, verbose=False)
    assert sorted(seen.outputs) == [0, 1, 2]
    for outputs in seen.outputs.values():
        out = torch.cat(outputs)
        per_speaker_means = torch.stack([out[0::2].mean(), out[1::2].mean()])
        assert torch.allclose(out.mean(), torch.tensor(0.0), atol=1e-4)  # the whole set: either way
        if per_speaker:
            assert torch.allclose(per_speaker_means, torch.zeros(2), atol=1e-4)
            assert torch.allclose(torch.stack([out[0::2].var(), out[1::2].var()]), torch.ones(2), atol=0.1)
        else:  # one set of statistics: b's brighter images stay above a's
            assert per_speaker_means[1] > per_speaker_means[0] + 0.5


def test_per_speaker_hooks_and_statistics_are_gone_after_testing(tmp_path):
    trainer, model, data = speaker_build(tmp_path, AdaptBatchNorm(per_speaker=True))
    model.eval()
    x = torch.rand(4, 1, 12, 12) * 2 - 1
    before = model(x)
    trainer.test(model, datamodule=data, verbose=False)
    model.eval()
    assert torch.equal(model(x), before)
    assert not first_norm(model)._forward_hooks


def test_per_speaker_names_what_is_missing(tmp_path):
    trainer, model, data = build(tmp_path, AdaptBatchNorm(per_speaker=True))  # FedPatterns: no test_files
    with pytest.raises(ValueError, match="per_speaker needs the test files' names; FedPatterns has no test_files"):
        trainer.test(model, datamodule=data, verbose=False)
    trainer, model, data = speaker_build(tmp_path, AdaptBatchNorm(per_speaker=True, speaker_pattern=r"^spk(\d+)-"))
    with pytest.raises(ValueError, match=r"no test file's name gives a speaker with speaker_pattern '\^spk.*a_nohash"):
        trainer.test(model, datamodule=data, verbose=False)
    with pytest.raises(ValueError, match="per_speaker estimates from every test sample; leave max_batches out"):
        AdaptBatchNorm(per_speaker=True, max_batches=2)
