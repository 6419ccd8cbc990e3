"""Build-time validation: bad specs fail with a ValueError naming the op and key, before any data is seen."""
import pytest
import torch

from blackmagic import augment
from blackmagic.augment import SpecError


@pytest.mark.parametrize("spec,words", [
    ([{"twirl": {}}], ["unknown op 'twirl'", "rotate"]),
    ([{"noise": {"sdt": 0.1}}], ["op 'noise'", "key 'sdt'", "valid keys are p, std"]),
    ([{"noise": {"std": [0.2, 0.1]}}], ["op 'noise'", "key 'std'", "lo > hi"]),
    ([{"noise": {"std": -0.1}}], ["op 'noise'", "key 'std'", ">= 0"]),
    ([{"pixel_dropout": {"rate": [0.1, 1.5]}}], ["op 'pixel_dropout'", "key 'rate'", "<= 1"]),
    ([{"rotate": {"degrees": "lots"}}], ["op 'rotate'", "key 'degrees'", "expected a number"]),
    ([{"rotate": {"p": 2}}], ["op 'rotate'", "key 'p'", "<= 1"]),
    ([{"blur": {"kernel_size": 4}}], ["op 'blur'", "key 'kernel_size'", "odd"]),
    ([{"blur": {"sigma": 0}}], ["op 'blur'", "key 'sigma'", "> 0"]),
    ([{"whiten": {"mode": "pca"}}], ["op 'whiten'", "key 'mode'", "zca, standardize"]),
    ([{"time_shift": {"shift": 1.5}}], ["op 'time_shift'", "key 'shift'", "[-1, 1]"]),
    ([{"time_shift": {"shift": 0.5, "unit": "samples"}}], ["op 'time_shift'", "whole numbers"]),
    ([{"distortion": {"mode": "fuzz"}}], ["op 'distortion'", "key 'mode'", "tanh, clip"]),
    ([{"distortion": {"amount": [0, 1.2]}}], ["op 'distortion'", "key 'amount'"]),
    ([{"time_mask": {"width": [1.5, 3]}}], ["op 'time_mask'", "key 'width'", "whole numbers"]),
    ([{"one_of": []}], ["op 'one_of'", "key 'ops'", "non-empty"]),
    ([{"one_of": {"ops": [{"noise": {}}], "weights": [1, 2]}}], ["op 'one_of'", "key 'weights'"]),
    ([{"some_of": {"ops": [{"noise": {}}], "n": 2}}], ["op 'some_of'", "key 'n'", "cannot choose 2 of 1"]),
    ([{"noise": {}, "rotate": {}}], ["one-key mapping"]),
    ([{"noise": {}}, {"gain": {}}], ["mixes", "'noise' (image)", "'gain' (audio)"]),
    ({"augment": [], "audio_augment": []}, ["exactly one of"]),
    ("noise: 1", ["found ['noise']", "write ops as a list"]),
    ("42", ["expected a list"]),
])
def test_bad_specs_name_the_op_and_key(spec, words):
    with pytest.raises(SpecError) as err:
        augment.build(spec)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_seconds_need_a_sample_rate():
    with pytest.raises(SpecError, match="time_shift.*sample_rate"):
        augment.build([{"time_shift": {"shift": 0.1, "unit": "seconds"}}])
    augment.build([{"time_shift": {"shift": 0.1, "unit": "seconds"}}], sample_rate=8000)


def test_scalars_follow_the_documented_convention():
    pipe = augment.build([{"rotate": {"degrees": 30}}, {"color_shift": {"brightness": 0.2, "hue": 0.05}},
                          {"noise": {"std": 0.1}}])
    assert (pipe.ops[0].cfg["degrees"].lo, pipe.ops[0].cfg["degrees"].hi) == (-30, 30)
    assert (pipe.ops[1].cfg["brightness"].lo, pipe.ops[1].cfg["brightness"].hi) == (0.8, 1.2)
    assert (pipe.ops[1].cfg["hue"].lo, pipe.ops[1].cfg["hue"].hi) == (-0.05, 0.05)
    assert (pipe.ops[2].cfg["std"].lo, pipe.ops[2].cfg["std"].hi) == (0.1, 0.1)


def test_yaml_text_file_and_recipe_mapping_load_the_same(tmp_path):
    text = "augment:\n  - rotate: {degrees: 10}\n  - one_of: [{noise: {std: 0.1}}, {blur: {sigma: 1.0}}]\n"
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    x = torch.rand(4, 3, 16, 16)
    outs = [augment.build(s, seed=1)(x) for s in (text, path, str(path))]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_missing_or_broken_files_are_named(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        augment.build(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("augment: [rotate: {degrees: ")
    with pytest.raises(SpecError, match="bad.yaml is not valid YAML"):
        augment.build(bad)


def test_wrong_inputs_are_refused_clearly():
    pipe = augment.build([{"rotate": {}}])
    with pytest.raises(ValueError, match=r"'rotate' expects \(B, C, H, W\)"):
        pipe(torch.rand(2, 100))
    with pytest.raises(TypeError, match="uint8 or floating"):
        pipe(torch.zeros(2, 3, 8, 8, dtype=torch.int32))
    with pytest.raises(ValueError, match="blur.*kernel_size 13"):
        augment.build([{"blur": {"sigma": 2.0}}])(torch.rand(1, 1, 5, 5))


def test_unknown_backend():
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        augment.build([], backend="jax")


def test_empty_spec_converts_only():
    x = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)
    torch.testing.assert_close(augment.build([])(x), x.float() / 255)
