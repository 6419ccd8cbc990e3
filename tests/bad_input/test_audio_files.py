"""Audio files: cut-off WAVs, non-finite samples, formats soundfile reads, files that are not audio."""
import numpy as np
import pytest
import soundfile
import torch

from blackmagic.datamodules import AudioFolderDataModule
from blackmagic.io import DataError, read_audio

from .make import RATE, audio_tree, tone, wav


def set_data_size(path, size: int, keep_bytes: int | None = None):
    """Rewrite the ``data`` chunk size of a WAV file and optionally keep only ``keep_bytes`` of its samples."""
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data") + 4
    raw[at:at + 4] = size.to_bytes(4, "little")
    path.write_bytes(bytes(raw if keep_bytes is None else raw[:at + 4 + keep_bytes]))
    return path


def test_a_cut_off_wav_is_refused_with_both_lengths(tmp_path):
    cut = wav(tmp_path / "cut.wav")  # 1 s of 16-bit mono: 32000 bytes of samples
    set_data_size(cut, 32000, keep_bytes=12800)
    with pytest.raises(DataError, match=r"cut.wav: truncated: its header declares 16000 samples \(1.000 s\) "
                                        r"but the file holds 6400 \(0.400 s\)"):
        read_audio(cut, RATE, 1.0)


def test_a_cut_off_wav_stops_the_datamodule_naming_the_file(tmp_path):
    root = audio_tree(tmp_path / "a")
    set_data_size(wav(root / "yes" / "cut.wav"), 32000, keep_bytes=12800)
    with pytest.raises(DataError, match=r"yes/cut.wav: truncated"):
        AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c")).prepare_data()


def test_a_stream_header_of_unknown_length_is_read_to_the_end(tmp_path):
    streamed = set_data_size(wav(tmp_path / "stream.wav"), 0xFFFFFFFF)
    torch.testing.assert_close(read_audio(streamed, RATE)[0], torch.from_numpy(tone()), atol=1e-4, rtol=0)


def test_a_stream_header_that_was_never_completed_is_refused(tmp_path):
    unfinished = set_data_size(wav(tmp_path / "unfinished.wav"), 0)
    with pytest.raises(DataError, match=r"unfinished.wav: its header declares no samples but 16000 \(1.000 s\) follow"):
        read_audio(unfinished, RATE)


def test_a_short_clip_is_padded_with_silence(tmp_path):
    clip = read_audio(wav(tmp_path / "short.wav", tone(0.4)), RATE, 1.0)
    assert clip.shape == (1, RATE)
    assert clip[0, :6400].abs().max() > 0.4 and clip[0, 6400:].abs().max() == 0


@pytest.mark.parametrize("bad,frame,channel,what", [
    (np.nan, 100, 0, "nan"), (np.inf, 2345, 1, "inf"), (-np.inf, 15000, 0, "-inf"),
])
def test_non_finite_samples_are_refused_naming_the_first(tmp_path, bad, frame, channel, what):
    wave = np.stack([tone(), tone()], 1)  # (T, 2)
    wave[frame, channel] = bad
    wave[-1, 1] = np.nan  # a later one, not named
    path = wav(tmp_path / "float.wav", wave, subtype="FLOAT")
    seconds = f"{frame / RATE:.3f}"
    with pytest.raises(DataError, match=rf"float.wav: sample {frame} \({seconds} s, channel {channel}\) is {what}; "
                                        r"audio must be finite \(2 samples are not\)"):
        read_audio(path, RATE)


@pytest.mark.parametrize("name,options", [
    ("a.mp3", {}), ("a.aiff", {}), ("a.aif", {"format": "AIFF"}), ("a.opus", {"format": "OGG", "subtype": "OPUS"}),
    ("a.flac", {}), ("a.ogg", {}),
])
def test_every_format_soundfile_reads_is_a_class_file(tmp_path, name, options):
    root = audio_tree(tmp_path / "a")
    soundfile.write(root / "yes" / name, tone(0.5, freq=440), RATE, **options)
    dm = AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c"), seconds=0.5)
    files = [f for split in dm.files.files.values() for f in split]
    assert root / "yes" / name in files
    clip = dm.decode(root / "yes" / name).astype(np.float32)[0] / 32767
    spectrum = np.abs(np.fft.rfft(clip))
    assert abs(np.argmax(spectrum) * 2 - 440) <= 6, f"{name} decoded to something else"


def test_mp3_files_are_no_longer_skipped(tmp_path):
    root = audio_tree(tmp_path / "a", per_class=6)
    for i in range(2):
        for word in ("no", "yes"):
            soundfile.write(root / word / f"m{i}.mp3", tone(0.5), RATE)
    dm = AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c"))
    assert sum(len(f) for f in dm.files.files.values()) == 16


@pytest.mark.parametrize("content,message", [
    (b"", "not readable audio"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "not readable audio"),
    (b"this is a text file, not audio\n", "not readable audio"),
])
def test_files_that_are_not_audio_name_the_file(tmp_path, content, message):
    root = audio_tree(tmp_path / "a")
    (root / "yes" / "bad.wav").write_bytes(content)
    with pytest.raises(DataError, match=f"yes/bad.wav: {message}"):
        AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c")).prepare_data()


def test_zero_length_audio_is_refused(tmp_path):
    root = audio_tree(tmp_path / "a")
    wav(root / "no" / "silent.wav", np.zeros(0, np.float32))
    with pytest.raises(DataError, match="no/silent.wav: the audio has no samples"):
        AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c")).prepare_data()
