"""Augmentation specs: every bad value fails when the pipeline is built, naming the op and the key."""
import pytest
import torch

from blackmagic import augment
from blackmagic.augment import SpecError

TWO = [{"noise": {}}, {"pixel_dropout": {}}]


@pytest.mark.parametrize("weights,message", [
    ([float("nan"), 1], "expected a finite number, got nan"),
    ([float("inf"), 1], "expected a finite number, got inf"),
    (["a", 1], "expected a number, got 'a'"),
    ([True, 1], "expected a number, got True"),
    ([None, 1], "expected a number, got None"),
    ([1], r"need a list of 2 weights, one per op; got \[1\]"),
    ([1, 2, 3], r"need a list of 2 weights, one per op; got \[1, 2, 3\]"),
    (2, "need a list of 2 weights, one per op; got 2"),
    ({"noise": 1}, "need a list of 2 weights"),
    ([-1, 2], r"weights must be non-negative with a positive sum; got \[-1, 2\]"),
    ([0, 0], r"weights must be non-negative with a positive sum; got \[0, 0\]"),
])
def test_bad_one_of_weights_name_op_and_key(weights, message):
    with pytest.raises(SpecError, match=f"op 'one_of', key 'weights': {message}"):
        augment.build([{"one_of": {"ops": TWO, "weights": weights}}])


def test_good_one_of_weights_choose_by_weight():
    pipe = augment.build([{"one_of": {"ops": TWO, "weights": [0, 1]}}], seed=0)
    pipe(torch.rand(64, 1, 4, 4))
    chosen = [pipe.last_params[op.key]["active"] for op in pipe.ops]
    assert not chosen[0].any() and chosen[1].all()


@pytest.mark.parametrize("spec,message", [
    ([{"twirl": {}}], "unknown op 'twirl'; known ops are .*rotate"),
    ([{"noise": {"sdt": 0.1}}], "op 'noise', key 'sdt': unknown key; valid keys are p, std"),
    ([{"noise": {"std": [0.2, 0.1]}}], r"op 'noise', key 'std': range \[0.2, 0.1\] has lo > hi"),
    ([{"noise": {"std": [0.1, 0.2, 0.3]}}], "op 'noise', key 'std': a range is \\[lo, hi\\] or a single value"),
    ([{"rotate": {"degrees": float("nan")}}], "op 'rotate', key 'degrees': expected a finite number, got nan"),
    ([{"rotate": {"degrees": "lots"}}], "op 'rotate', key 'degrees': expected a number, got 'lots'"),
    ([{"rotate": {"p": 1.5}}], "op 'rotate', key 'p': must be <= 1, got 1.5"),
    ([{"rotate": 10}], "op 'rotate': parameters must be a mapping"),
    ([{"blur": {"sigma": 1.0, "kernel_size": 4}}], "op 'blur', key 'kernel_size': must be odd, got 4"),
    ([{"pixel_dropout": {"rate": [0, 1.5]}}], r"op 'pixel_dropout', key 'rate': range \[0, 1.5\] goes above 1"),
    ([{"flip": {"axis": "diagonal"}}], "op 'flip', key 'axis': expected one of horizontal, vertical"),
    ([{"time_shift": {"rollover": "yes"}}], "op 'time_shift', key 'rollover': expected true or false"),
    ([{"some_of": {"ops": TWO, "n": 3}}], "op 'some_of', key 'n': cannot choose 3 of 2 ops"),
    ([{"one_of": []}], "op 'one_of', key 'ops': expected a non-empty list"),
    ([{"noise": {}, "blur": {}}], "each item is a one-key mapping"),
    ([{"noise": {}}, {"gain": {}}], r"mixes 'noise' \(image\), 'gain' \(audio\)"),
])
def test_bad_specs_name_op_and_key(spec, message):
    with pytest.raises(SpecError, match=message):
        augment.build(spec)


def test_a_bad_spec_file_is_named(tmp_path):
    (tmp_path / "broken.yaml").write_text("augment: [rotate: {degrees: ")
    with pytest.raises(SpecError, match="broken.yaml is not valid YAML"):
        augment.build(tmp_path / "broken.yaml")
    with pytest.raises(SpecError, match="no such file: .*absent.yaml"):
        augment.build(str(tmp_path / "absent.yaml"))
