"""A recipe's bf16-mixed trains in bfloat16 only where the hardware computes it; elsewhere in float32, said."""
import pytest
import yaml

from blackmagic.harness import precision
from blackmagic.harness.cli import BlackmagicCLI

from .helpers import write_recipe


@pytest.mark.parametrize("accelerator,device", [("cpu", "cpu"), ("gpu", "cuda"), ("cuda", "cuda"), ("mps", "other")])
def test_the_accelerator_setting_names_the_device(accelerator, device):
    assert precision.device_type(accelerator) == device


def test_auto_is_the_gpu_only_where_there_is_one(monkeypatch):
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    assert precision.device_type("auto") == "cpu"
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: True)
    assert precision.device_type("auto") == "cuda"


@pytest.mark.parametrize("native", [True, False])
def test_bf16_stays_where_computed_and_falls_back_to_float32_where_emulated(monkeypatch, native):
    monkeypatch.setattr(precision, "computes_bf16", lambda device: native)
    chosen, why = precision.native_precision("bf16-mixed", "cpu")
    assert chosen == ("bf16-mixed" if native else "32-true")
    assert (why is None) == native
    if not native:
        assert "bf16-mixed" in why and "32-true" in why and "CPU" in why
    assert precision.native_precision("16-mixed", "cpu") == ("16-mixed", None), "other precisions are the recipe's"
    assert precision.native_precision("bf16-mixed", "mps") == ("bf16-mixed", None), "unknown devices keep it"


@pytest.mark.parametrize("native", [True, False])
def test_the_trainer_and_the_saved_config_use_the_precision_chosen(tmp_path, monkeypatch, capsys, native):
    monkeypatch.setattr(precision, "computes_bf16", lambda device: native)
    recipe = write_recipe(tmp_path)
    cli = BlackmagicCLI(args=["-c", str(recipe), "--trainer.precision", "bf16-mixed", "--trainer.max_epochs", "1",
                              "--runs_dir", str(tmp_path / "runs")], run=False)
    expected = "bf16-mixed" if native else "32-true"
    assert cli.trainer.precision == expected
    assert cli.config.trainer.precision == expected
    assert ("training in 32-true" in capsys.readouterr().err) != native
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    saved = yaml.safe_load(next((tmp_path / "runs").rglob("config.yaml")).read_text())
    assert saved["trainer"]["precision"] == expected
