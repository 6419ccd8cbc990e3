"""The shared tests every transform runs (see ``cases.py``): identity at p=0, shapes, dtypes and devices kept,
fresh per-sample parameters on every call, seeds reproduce, replay reproduces, finite in -> finite out."""
import pytest
import torch

from blackmagic import augment

from .cases import CASES, MAY_KEEP, SETUP, sample_input

NAMES = sorted(CASES)


def build(name, seed=0, **override):
    item = dict(CASES[name][0])
    (op, params), = item.items()
    pipe = augment.build([{op: {**params, **override}}], seed=seed, sample_rate=16_000)
    SETUP.get(name, lambda p: p)(pipe)
    return pipe


@pytest.mark.parametrize("name", NAMES)
def test_p0_is_identity(name, device):
    x = sample_input(CASES[name][1], device)
    assert torch.equal(build(name, p=0.0)(x), x)


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_device_kept(name, device):
    x = sample_input(CASES[name][1], device)
    y = build(name)(x)
    assert y.shape == x.shape and y.dtype == torch.float32 and y.device == x.device
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", NAMES)
def test_input_is_not_modified(name, device):
    x = sample_input(CASES[name][1], device)
    before = x.clone()
    for p in (1.0, 0.0):  # nor shared with the output, even when nothing is drawn
        y = build(name, p=p)(x)
        y.add_(1)
        assert torch.equal(x, before)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_that_require_grad_are_taken_as_data(name):
    x = sample_input(CASES[name][1], "cpu").requires_grad_()
    for tile_bytes in (0, x[0].numel() * 4 * 2):  # the whole batch and tiles
        a, b = (augment.build([CASES[name][0]], seed=0, sample_rate=16_000, tile_bytes=tile_bytes) for _ in "ab")
        for pipe in (a, b):
            SETUP.get(name, lambda p: p)(pipe)
        torch.testing.assert_close(a(x), b(x.detach()))


@pytest.mark.parametrize("name", NAMES)
def test_fresh_parameters_every_call_and_per_sample(name, device):
    x = sample_input(CASES[name][1], device)
    x = x[:1].expand_as(x).contiguous()  # the same input in every row
    pipe = build(name)
    a, b = pipe(x), pipe(x)
    assert not torch.equal(a, b), "two calls gave the same output"
    if name not in MAY_KEEP:
        assert not torch.equal(a[0], a[1]), "two samples of one batch got the same parameters"
        assert all(not torch.equal(a[i], x[i]) for i in range(len(x))), "p=1 left a sample unchanged"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_sequence(name, device):
    x = sample_input(CASES[name][1], device)
    p1, p2 = build(name, seed=7), build(name, seed=7)
    for _ in range(2):
        assert torch.equal(p1(x), p2(x))
    assert not torch.equal(build(name, seed=8)(x), build(name, seed=7)(x))


@pytest.mark.parametrize("name", NAMES)
def test_replay_from_last_params(name, device):
    x = sample_input(CASES[name][1], device)
    pipe = build(name)
    y = pipe(x)
    params = pipe.last_params
    pipe(x)  # a fresh draw in between
    assert torch.equal(pipe(x, params=params), y)


@pytest.mark.parametrize("name", NAMES)
def test_cpu_tiles_match_the_whole_batch(name):
    if name in {"noise", "pixel_dropout", "noise_snr"}:
        pytest.skip("data-sized draws (noise, masks) follow the tiling by design")
    x = sample_input(CASES[name][1], "cpu")
    whole = augment.build([CASES[name][0]], seed=3, sample_rate=16_000, tile_bytes=0)
    tiled = augment.build([CASES[name][0]], seed=3, sample_rate=16_000, tile_bytes=x[0].numel() * 4 * 2)
    for pipe in (whole, tiled):
        SETUP.get(name, lambda p: p)(pipe)
    inputs = [x, x.double()] + ([(x * 255).round().to(torch.uint8)] if x.dim() == 4 else [])
    for v in inputs:  # whichever way a tile gets to float32 (converted, copied or read in place)
        torch.testing.assert_close(tiled(v), whole(v), rtol=1e-4, atol=1e-5)  # BLAS blocking differs by tile


@pytest.mark.parametrize("name", [n for n in NAMES if len(CASES[n][1]) == 4 and "mask" not in n])
def test_uint8_images_are_scaled_to_unit_range(name, device):
    x = (sample_input(CASES[name][1], device) * 255).round().to(torch.uint8)
    torch.testing.assert_close(build(name, seed=1)(x), build(name, seed=1)(x.float() / 255))


@pytest.mark.parametrize("name", NAMES)
def test_is_a_module_that_moves(name):
    pipe = build(name)
    assert isinstance(pipe, torch.nn.Module)
    assert isinstance(pipe.ops[0], augment.Op)
    pipe.to("cpu")
