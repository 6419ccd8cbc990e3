"""``blackmagic preview``: a PNG grid of N inputs x K fresh draws, WAVs for audio, clear errors on bad input."""
import numpy as np
import pytest
import soundfile
import yaml
from PIL import Image

from blackmagic.augment.preview import main, preview

RATE = 8_000


def image_folder(root, n=3, size=20):
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size + 4, 3), dtype=np.uint8)).save(root / f"im{i}.png")
    return root


def audio_folder(root, n=2, seconds=0.25):
    root.mkdir()
    t = np.arange(int(RATE * seconds)) / RATE
    for i in range(n):
        soundfile.write(root / f"clip{i}.wav", (0.5 * np.sin(2 * np.pi * (200 + 100 * i) * t)).astype(np.float32), RATE)
    return root


def spec_file(path, spec):
    path.write_text(yaml.safe_dump(spec))
    return path


def test_image_grid_has_a_row_per_input_and_a_column_per_draw(tmp_path):
    spec = spec_file(tmp_path / "spec.yaml", [{"rotate": {"degrees": 30}}, {"noise": {"std": 0.1}}])
    small = preview(spec, image_folder(tmp_path / "img"), tmp_path / "a.png", draws=2, count=3, seed=0)
    wide = preview(spec, tmp_path / "img", tmp_path / "b.png", draws=5, count=3, seed=0)
    assert small == [tmp_path / "a.png"] and wide == [tmp_path / "b.png"]
    (w1, h1), (w2, h2) = Image.open(small[0]).size, Image.open(wide[0]).size
    assert h1 == h2 and w2 > w1 * 1.5  # 3 vs 6 columns, same 3 rows


def test_audio_preview_writes_every_augmented_clip_as_wav(tmp_path):
    spec = spec_file(tmp_path / "recipe.yaml", {"data": {"init_args": {"augment": [
        {"gain": {"db": [-6, -6]}}, {"time_shift": {"shift": 0.2}}]}}})  # found inside a recipe
    written = preview(spec, audio_folder(tmp_path / "wav"), tmp_path / "out" / "grid.png", draws=3, seed=0,
                      sample_rate=RATE)
    assert written[0].is_file() and len(written) == 1 + 3 * 2
    original, _ = soundfile.read(tmp_path / "wav" / "clip0.wav", dtype="float32")
    clip, rate = soundfile.read(written[1], dtype="float32")
    assert rate == RATE and clip.shape == original.shape
    np.testing.assert_allclose(np.sqrt(np.mean(clip**2)), np.sqrt(np.mean(original**2)) * 10 ** (-6 / 20), rtol=1e-3)


def test_bad_input_is_refused_with_the_reason(tmp_path):
    images = image_folder(tmp_path / "img")
    audio = audio_folder(tmp_path / "wav")
    vision = spec_file(tmp_path / "vision.yaml", [{"blur": {"sigma": 1.0}}])
    with pytest.raises(ValueError, match="image ops but .* holds audio"):
        preview(vision, audio, tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="no spec file"):
        preview(tmp_path / "missing.yaml", images, tmp_path / "x.png")
    with pytest.raises(ValueError, match="no list of ops"):
        preview(spec_file(tmp_path / "empty.yaml", {"model": {}}), images, tmp_path / "x.png")
    (tmp_path / "none").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        preview(vision, tmp_path / "none", tmp_path / "x.png")
    (images / "clip.wav").write_bytes((audio / "clip0.wav").read_bytes())
    with pytest.raises(ValueError, match="mixes images and audio"):
        preview(vision, images, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_cli_reports_what_it_wrote_and_exits_2_on_errors(tmp_path, capsys):
    spec = spec_file(tmp_path / "spec.yaml", [{"flip": {}}])
    assert main(["--spec", str(spec), "--input", str(image_folder(tmp_path / "img")), "--out",
                 str(tmp_path / "p.png"), "--draws", "1"]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "p.png").is_file()
    with pytest.raises(SystemExit) as stop:
        main(["--spec", str(tmp_path / "nope.yaml"), "--input", str(tmp_path / "img")])
    assert stop.value.code == 2 and "no spec file" in capsys.readouterr().err


def test_a_recipe_with_a_spectrogram_spec_previews_its_waveform_augment(tmp_path):
    """A keyword recipe holds the net's spec_augment and the data's augment: audio inputs get the latter."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model:\n  init_args:\n    net:\n      init_args:\n        spec_augment: [{time_mask: {width: [0, 4]}}]\n"
                      "data:\n  init_args:\n    augment: [{gain: {db: [-6, -6]}}]\n")
    clip = np.sin(np.linspace(0, 400, 8000)).astype(np.float32) * 0.5
    soundfile.write(tmp_path / "tone.wav", clip, 8000)
    written = preview(recipe, tmp_path / "tone.wav", tmp_path / "grid.png", draws=1, sample_rate=8000)
    out, _ = soundfile.read(written[1], dtype="float32")
    assert np.allclose(out, clip * 10 ** (-6 / 20), atol=1e-3)  # the gain ran, not a mask
