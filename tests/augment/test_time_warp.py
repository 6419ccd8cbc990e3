"""time_warp: where each output frame comes from, what stays, and the settings it refuses."""
import pytest
import torch

from blackmagic import augment
from blackmagic.augment import SpecError


def ramp(B=8, F=3, T=61):
    """Each frame holds its own index: the output shows where it was read from."""
    return torch.arange(T, dtype=torch.float32).expand(B, 1, F, T).clone()


def warp(x, **spec):
    pipe = augment.build([{"time_warp": {"p": 1.0, **spec}}], seed=0)
    return pipe(x), pipe.last_params["0.time_warp"]


def test_frames_are_read_in_order_the_ends_stay_and_knots_move_by_their_draw():
    x = ramp()
    y, drawn = warp(x, width=5, knots=2)  # knots at frames 20 and 40
    src = y[:, 0, 0]  # (B, T): the input frame each output frame was read from
    assert torch.all(src[:, 1:] >= src[:, :-1]), "time runs backwards"
    assert torch.all(src[:, 0] == 0) and torch.all(src[:, -1] == 60)
    torch.testing.assert_close(src[:, [20, 40]], torch.tensor([20.0, 40.0]) + 5 * drawn["move"])
    assert torch.equal(y[:, :, 0], y[:, :, 2]), "every bin of a frame comes from the same time"
    assert (drawn["move"].abs() > 0.5).any() and len({round(float(m), 4) for m in drawn["move"][:, 0]}) == 8


def test_between_knots_frames_are_interpolated_linearly():
    x = torch.randn(4, 2, 5, 41)
    y, drawn = warp(x, width=3, knots=1)  # one knot at frame 20
    at = 20 + 3 * drawn["move"][:, 0]  # where output frame 20 reads
    lo = at.floor().long()
    w = (at - lo)[:, None, None]
    expected = torch.stack([torch.lerp(x[b, :, :, lo[b]], x[b, :, :, lo[b] + 1], w[b]) for b in range(4)])
    torch.testing.assert_close(y[..., 20], expected)


def test_a_move_stays_under_half_the_spacing_so_short_inputs_keep_their_order():
    y, _ = warp(ramp(B=16, T=13), width=50, knots=3)  # spacing 3 frames: moves held under 1.5
    src = y[:, 0, 0]
    assert torch.all(src[:, 1:] > src[:, :-1])


def test_no_width_or_inactive_samples_leave_the_input_unchanged():
    x = torch.randn(6, 1, 8, 30)
    y, _ = warp(x, width=0)
    assert torch.equal(y, x)
    pipe = augment.build([{"time_warp": {"width": 4, "p": 0.5}}], seed=3)
    y = pipe(x)
    active = pipe.last_params["0.time_warp"]["active"]
    assert 0 < active.sum() < 6 and torch.equal(y[~active], x[~active]) and not torch.equal(y[active], x[active])


@pytest.mark.parametrize("spec,words", [({"width": -1}, ["width", ">= 0"]), ({"knots": 0}, ["knots", ">= 1"]),
                                        ({"knots": 1.5}, ["knots", "whole number"])])
def test_time_warp_refuses_bad_settings_naming_the_key(spec, words):
    with pytest.raises(SpecError) as err:
        augment.build([{"time_warp": spec}])
    assert "op 'time_warp'" in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


def test_time_warp_refuses_a_waveform():
    with pytest.raises(ValueError, match="time_warp.*spectrograms"):
        augment.build([{"time_warp": {}}])(torch.randn(2, 1, 100))
