"""Batches given to a torch pipeline: empty samples, empty batches, wrong layouts, values, replays."""
import re

import pytest
import torch

from blackmagic import augment
from tests.augment.cases import CASES, sample_input

AXES = {"image": "BCHW", "audio": "BCT", "spectrogram": "BCFT"}


def build(case: str):
    c = CASES[case]
    return c.prepare(augment.build([c.item], seed=0, sample_rate=16_000)), c.shape


@pytest.mark.parametrize("case", sorted(n for n, c in CASES.items() if augment.OPS[c.op].domain != "any"))
def test_empty_samples_are_refused_naming_the_op(case):
    pipe, shape = build(case)
    name = CASES[case].op
    for axis in range(2, len(shape)):  # every axis after B and C
        empty = list(shape)
        empty[axis] = 0
        expected = f"op '{name}' got samples with {AXES[pipe.domain][axis]} = 0 (shape {tuple(empty)})"
        with pytest.raises(ValueError, match=re.escape(expected)):
            pipe(torch.zeros(empty))


def test_empty_uint8_images_are_refused_before_any_op_divides_by_their_size():
    with pytest.raises(ValueError, match=r"op 'rotate' got samples with H = 0 and W = 0"):
        augment.build([{"rotate": {"degrees": 10}}])(torch.zeros(4, 3, 0, 0, dtype=torch.uint8))


@pytest.mark.parametrize("case", ["rotate", "noise", "time_shift", "distortion", "time_mask"])
def test_an_empty_batch_gives_an_empty_float_batch(case):
    pipe, shape = build(case)
    out = pipe(torch.zeros(0, *shape[1:], dtype=torch.uint8 if len(shape) == 4 else torch.float32))
    assert out.shape == (0, *shape[1:]) and out.dtype == torch.float32


def test_replaying_params_on_a_batch_of_another_size_names_both_sizes():
    pipe, shape = build("rotate")
    pipe(sample_input(shape, "cpu"))
    with pytest.raises(ValueError, match=r"drawn for a batch of 6 samples; this batch holds 4.*x\[:6\]"):
        pipe(sample_input((4, *shape[1:]), "cpu"), params=pipe.last_params)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_in_the_first_batch_are_refused(bad):
    pipe, shape = build("gain")
    x = sample_input(shape, "cpu")
    x[3, 1, 17] = bad
    with pytest.raises(ValueError, match=r"the batch holds NaN or infinite values \(shape \(6, 2, 800\)\)"):
        pipe(x)


def test_float_images_in_0_255_say_divide_by_255():
    pipe, shape = build("rotate")
    with pytest.raises(ValueError, match=r"float images must lie in \[0, 1\].*spans \[0, 255\]; divide by 255 first"):
        pipe(torch.linspace(0, 255, 6 * 3 * 16 * 16).reshape(shape))


@pytest.mark.parametrize("case,shape,message", [
    ("rotate", (2, 100), r"op 'rotate' expects \(B, C, H, W\) images with C = 1 or 3; got shape \(2, 100\)"),
    ("rotate", (2, 2, 8, 8), r"op 'rotate' expects \(B, C, H, W\) images with C = 1 or 3; got shape \(2, 2, 8, 8\)"),
    ("gain", (2, 1, 4, 100), r"op 'gain' expects \(B, C, T\) waveforms; got shape \(2, 1, 4, 100\)"),
    ("time_mask", (2, 100), r"op 'time_mask' expects \(B, C, F, T\) spectrograms; got shape \(2, 100\)"),
])
def test_wrong_layouts_are_refused_naming_the_op(case, shape, message):
    pipe, _ = build(case)
    with pytest.raises(ValueError, match=message):
        pipe(torch.rand(shape))


@pytest.mark.parametrize("x,message", [
    (torch.zeros(2, 3, 8, 8, dtype=torch.int32), "inputs must be uint8 or floating point, got torch.int32"),
    ([[0.5]], "a pipeline takes a torch.Tensor batch, got list"),
])
def test_inputs_of_the_wrong_type_are_refused(x, message):
    with pytest.raises(TypeError, match=message):
        build("rotate")[0](x)
