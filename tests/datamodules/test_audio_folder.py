import numpy as np
import pytest
import soundfile
import torch

from blackmagic.datamodules import AudioFolderDataModule
from blackmagic.io import DataError


def tone(freq, seconds, rate, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([wave] * channels, 1) if channels > 1 else wave


def speech_commands_tree(root, rate=8000):
    """Two words, three formats, two rates, stereo and mono; lists for val/test; background noise."""
    files = []
    for w, freq in (("yes", 300), ("no", 600)):
        (root / w).mkdir(parents=True)
        for i in range(6):
            ext = ("wav", "flac", "ogg")[i % 3]
            soundfile.write(root / w / f"s{i}.{ext}", tone(freq, 0.5 + 0.2 * i, rate * (1 + i % 2), 1 + i % 2),
                            rate * (1 + i % 2))
            files.append(f"{w}/s{i}.{ext}")
    (root / "validation_list.txt").write_text("yes/s0.wav\nno/s0.wav\n")
    (root / "testing_list.txt").write_text("yes/s1.flac\nno/s1.flac\n")
    (root / "_background_noise_").mkdir()
    soundfile.write(root / "_background_noise_" / "hum.wav", tone(50, 3, 16000), 16000)
    return root


def test_speech_commands_layout_rates_channels_and_lengths(tmp_path):
    root = speech_commands_tree(tmp_path / "sc")
    dm = AudioFolderDataModule(str(root), sample_rate=16000, seconds=1.0, cache_dir=str(tmp_path / "c"), batch_size=4,
                               augment=[{"background_noise": {"snr_db": [5, 5]}}])
    assert dm.class_names == ["no", "yes"], "_background_noise_ must not be a class"
    dm.prepare_data()
    dm.setup("fit")
    assert [len(dm.splits[s]) for s in ("train", "val", "test")] == [8, 2, 2]
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 1, 16000) and x.dtype == torch.int16
    wave, _ = dm.on_after_batch_transfer((x, y), 0)
    assert wave.dtype == torch.float32 and wave.abs().max() <= 1
    assert not dm.pipeline.ops[0].needs_recordings, "background noise recordings were not loaded"
    clip = dm.splits["train"].x[0].astype(np.float32)[0] / 32767
    spectrum = np.abs(np.fft.rfft(clip[:8000]))
    assert abs(np.argmax(spectrum) * 2 - 600) <= 4 or abs(np.argmax(spectrum) * 2 - 300) <= 4  # resampled correctly


def test_zero_length_and_truncated_audio_name_the_file(tmp_path):
    root = speech_commands_tree(tmp_path / "sc")
    soundfile.write(root / "yes" / "silent.wav", np.zeros(0), 8000)
    with pytest.raises(DataError, match="silent.wav: the audio has no samples"):
        AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c")).prepare_data()
    (root / "yes" / "silent.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt ")
    with pytest.raises(DataError, match="silent.wav: not readable audio"):
        AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c")).prepare_data()


def test_background_noise_op_without_recordings_is_refused(tmp_path):
    root = speech_commands_tree(tmp_path / "sc")
    for f in (root / "_background_noise_").iterdir():
        f.unlink()
    with pytest.raises(FileNotFoundError, match="_background_noise_: the augment spec mixes background_noise"):
        AudioFolderDataModule(str(root), augment=[{"background_noise": {}}])
