"""The shared tests every transform runs (see ``cases.py``): identity at p=0, shapes, dtypes and devices kept,
fresh per-sample parameters on every call, seeds reproduce, replay reproduces, finite in -> finite out."""
import pytest
import torch

from blackmagic import augment
from blackmagic.augment import pipeline

from .cases import CASES, sample_input

NAMES = sorted(CASES)


def build(name, seed=0, **override):
    case = CASES[name]
    (op, params), = case.item.items()
    return case.prepare(augment.build([{op: {**params, **override}}], seed=seed, sample_rate=16_000))


def run(name, pipe, x):
    return CASES[name].run(pipe, x)


def test_every_registered_op_has_a_case():
    assert set(augment.OPS) <= {case.op for case in CASES.values()}, "add the new op's line to tests/augment/cases.py"


@pytest.mark.parametrize("name", NAMES)
def test_p0_is_identity(name, device):
    x = sample_input(CASES[name].shape, device)
    assert torch.equal(run(name, build(name, p=0.0), x), CASES[name].unchanged(x))


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_device_kept(name, device):
    x = sample_input(CASES[name].shape, device)
    y = run(name, build(name), x)
    assert y.dtype == torch.float32 and y.device == x.device and torch.isfinite(y).all()
    if not CASES[name].targets:
        assert y.shape == x.shape


@pytest.mark.parametrize("name", NAMES)
def test_input_is_not_modified(name, device):
    x = sample_input(CASES[name].shape, device)
    before = x.clone()
    for p in (1.0, 0.0):  # nor shared with the output, even when nothing is drawn
        y = run(name, build(name, p=p), x)
        y.add_(1)
        assert torch.equal(x, before)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_that_require_grad_are_taken_as_data(name):
    case = CASES[name]
    x = sample_input(case.shape, "cpu").requires_grad_()
    for tile_bytes in (0, x[0].numel() * 4 * 2):  # the whole batch and tiles
        a, b = (case.prepare(augment.build([case.item], seed=0, sample_rate=16_000, tile_bytes=tile_bytes))
                for _ in "ab")
        torch.testing.assert_close(case.run(a, x), case.run(b, x.detach()))


@pytest.mark.parametrize("name", NAMES)
def test_fresh_parameters_every_call_and_per_sample(name, device):
    case = CASES[name]
    x = sample_input(case.shape, device)
    if not case.targets:  # a batch op mixes samples with each other: they must differ to show it
        x = x[:1].expand_as(x).contiguous()  # the same input in every row
    pipe = build(name)
    a, b = run(name, pipe, x), run(name, pipe, x)
    assert not torch.equal(a, b), "two calls gave the same output"
    if not case.may_keep:
        assert not torch.equal(a[0], a[1]), "two samples of one batch got the same parameters"
        same = case.unchanged(x)
        assert all(not torch.equal(a[i], same[i]) for i in range(len(x))), "p=1 left a sample unchanged"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_sequence(name, device):
    x = sample_input(CASES[name].shape, device)
    p1, p2 = build(name, seed=7), build(name, seed=7)
    for _ in range(2):
        assert torch.equal(run(name, p1, x), run(name, p2, x))
    assert not torch.equal(run(name, build(name, seed=8), x), run(name, build(name, seed=7), x))


@pytest.mark.parametrize("name", NAMES)
def test_replay_from_last_params(name, device):
    case = CASES[name]
    x = sample_input(case.shape, device)
    pipe = build(name)
    y = case.run(pipe, x)
    params = pipe.last_params
    run(name, pipe, x)  # a fresh draw in between
    assert torch.equal(case.run(pipe, x, params=params), y)


@pytest.mark.parametrize("name", NAMES)
def test_cpu_tiles_match_the_whole_batch(name):
    if name in {"noise", "pixel_dropout", "noise_snr"}:
        pytest.skip("data-sized draws (noise, masks) follow the tiling by design")
    case = CASES[name]
    x = sample_input(case.shape, "cpu")
    whole = case.prepare(augment.build([case.item], seed=3, sample_rate=16_000, tile_bytes=0))
    tiled = case.prepare(augment.build([case.item], seed=3, sample_rate=16_000, tile_bytes=x[0].numel() * 4 * 2))
    inputs = [x, x.double()] + ([(x * 255).round().to(torch.uint8)] if x.dim() == 4 else [])
    for v in inputs:  # whichever way a tile gets to float32 (converted, copied or read in place)
        torch.testing.assert_close(case.run(tiled, v), case.run(whole, v), rtol=1e-4, atol=1e-5)  # BLAS blocking


DATA_DRAWS = {"noise", "pixel_dropout", "noise_snr", "colored_noise", "reverb"}  # draw per sample they change


@pytest.mark.parametrize("name", [n for n in NAMES if n not in DATA_DRAWS])
def test_cpu_stages_on_their_active_samples_match_the_whole_batch(name, monkeypatch):
    case = CASES[name]
    x = sample_input((40, *case.shape[1:]), "cpu")
    few = build(name, seed=5, p=0.2)
    expected = case.run(few, x)
    params = few.last_params
    monkeypatch.setattr(pipeline, "ACTIVE_ROWS_ONLY", 0.0)  # every stage on the whole batch
    torch.testing.assert_close(case.run(build(name, seed=5, p=0.2), x, params=params), expected, rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("name", [n for n in NAMES if len(CASES[n].shape) == 4 and "mask" not in n])
def test_uint8_images_are_scaled_to_unit_range(name, device):
    x = (sample_input(CASES[name].shape, device) * 255).round().to(torch.uint8)
    torch.testing.assert_close(run(name, build(name, seed=1), x), run(name, build(name, seed=1), x.float() / 255))


@pytest.mark.parametrize("name", NAMES)
def test_is_a_module_that_moves(name):
    pipe = build(name)
    assert isinstance(pipe, torch.nn.Module)
    assert isinstance(pipe.ops[0], augment.Op)
    pipe.to("cpu")
