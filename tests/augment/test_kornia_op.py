"""The ``kornia`` op: Kornia's transforms by name, against Kornia itself, with our gate, seeds and replay."""
import pickle

import kornia.augmentation as K
import pytest
import torch

from blackmagic import augment
from blackmagic.augment import SpecError

X = torch.rand(8, 3, 24, 24, generator=torch.Generator().manual_seed(0))
ELASTIC = {"transform": "RandomElasticTransform", "args": {"alpha": [2.0, 4.0], "sigma": [4.0, 4.0]}}


def kornia(item: dict, **options) -> augment.Pipeline:
    return augment.build([{"kornia": item}], **options)


def test_fixed_parameters_match_calling_kornia():
    args = {"degrees": [20.0, 20.0], "scale": [1.2, 1.2], "shear": [5.0, 5.0]}  # degenerate ranges: no draw
    ours = kornia({"transform": "RandomAffine", "args": args}, seed=0)(X)
    theirs = K.RandomAffine(degrees=(20.0, 20.0), scale=(1.2, 1.2), shear=(5.0, 5.0), p=1.0)(X)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    assert not torch.allclose(ours, X, atol=1e-2)


def test_the_gate_picks_samples_and_kornia_gives_their_values():
    pipe = kornia({**ELASTIC, "p": 0.5}, seed=1)
    y = pipe(X)
    p = pipe.last_params["0.kornia"]
    active = p["active"]
    assert 0 < int(active.sum()) < len(X)
    expected = K.RandomElasticTransform(alpha=(2.0, 4.0), sigma=(4.0, 4.0), p=1.0)(X, params=dict(p["kornia"].params))
    torch.testing.assert_close(y[active], expected[active], rtol=0, atol=1e-6)
    assert torch.equal(y[~active], X[~active])  # exactly as they were


def test_the_pipeline_seed_fixes_kornias_draws_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    a = kornia(ELASTIC, seed=5)(X)
    before = torch.get_rng_state()
    torch.manual_seed(456)  # torch's global seed does not matter ...
    b = kornia(ELASTIC, seed=5)(X)
    assert torch.equal(a, b)
    torch.set_rng_state(before)
    kornia(ELASTIC, seed=5)(X)
    assert torch.equal(torch.get_rng_state(), before)  # ... and a call draws nothing from it
    assert not torch.equal(kornia(ELASTIC, seed=6)(X), a)


def test_two_kornia_ops_in_one_pipeline_draw_independently():
    pipe = augment.build([{"kornia": ELASTIC}, {"kornia": ELASTIC}], seed=0)
    pipe(X)
    first, second = (pipe.last_params[k]["kornia"].params["noise"] for k in ("0.kornia", "1.kornia"))
    assert not torch.equal(first, second)


@pytest.mark.parametrize("item", [
    ELASTIC,
    {"transform": "ColorJiggle", "args": {"brightness": 0.3, "contrast": 0.3, "hue": 0.1}},  # a per-call order
    {"transform": "RandomMotionBlur", "args": {"kernel_size": [3, 7], "angle": 40.0, "direction": 0.5}},
])
def test_tiles_cut_one_draw_and_replay_it(item):
    whole, tiled = (kornia({**item, "p": 0.7}, seed=2, tile_bytes=b) for b in (0, X[0].numel() * 4 * 3))
    y = tiled(X)
    torch.testing.assert_close(y, whole(X), rtol=0, atol=1e-6)
    params = tiled.last_params
    tiled(X)
    assert torch.equal(tiled(X, params=params), y)
    assert len(params["0.kornia"]["kornia"]) == len(X)


def test_replay_on_images_of_another_size_is_refused():
    pipe = kornia(ELASTIC, seed=0)
    pipe(X)
    with pytest.raises(ValueError, match=r"drawn for images of shape \(3, 24, 24\)"):
        pipe(torch.rand(8, 3, 16, 16), params=pipe.last_params)


def test_a_pickled_pipeline_continues_the_sequence():
    pipe = kornia(ELASTIC, seed=3)
    pipe(X)
    copy = pickle.loads(pickle.dumps(pipe))
    assert torch.equal(copy(X), pipe(X))


@pytest.mark.parametrize("item,words", [
    ({"transform": "RandomElastic"}, ["key 'transform'", "no 2D image transform 'RandomElastic'",
                                      "did you mean RandomElasticTransform"]),
    ({"transform": "randomperspective"}, ["did you mean RandomPerspective"]),
    ({"transform": "RandomAffine", "args": {"degree": 10}}, ["key 'args'", "RandomAffine takes no argument 'degree'",
                                                             "degrees, translate"]),
    ({"transform": "RandomAffine"}, ["RandomAffine needs degrees"]),
    ({"transform": "RandomAffine", "args": {"degrees": -5}}, ["Kornia's RandomAffine(degrees=-5) failed",
                                                              "non negative"]),
    ({"transform": "RandomAffine", "args": {"degrees": 5, "p": 0.5}}, ["'p' is this op's own gate"]),
    ({"transform": "RandomAffine3D", "args": {"degrees": 5}}, ["RandomAffine3D transforms volumes"]),
    ({"transform": "RandomMixUpV2"}, ["RandomMixUpV2 mixes samples"]),
    ({"transform": "AugmentationSequential"}, ["not a single 2D image augmentation"]),
    ({"transform": "RandomCrop", "args": {"size": [8, 8]}}, ["RandomCrop changes the image size"]),
    ({"args": {"alpha": 1.0}}, ["key 'transform'", "name a kornia.augmentation class"]),
    ({"transform": "RandomAffine", "args": [10]}, ["key 'args'", "as a mapping"]),
    ({"transform": "RandomAffine", "args": {"degrees": 5}, "prob": 0.5}, ["key 'prob'", "valid keys are args, p"]),
])
def test_bad_kornia_items_fail_at_build_naming_the_op_and_key(item, words):
    with pytest.raises(SpecError) as err:
        kornia(item)
    for w in words:
        assert w in str(err.value), (w, str(err.value))
    assert "op 'kornia'" in str(err.value)


def test_the_dali_backend_refuses_it_by_name():
    with pytest.raises(SpecError, match="op 'kornia' runs Kornia's RandomElasticTransform"):
        augment.build([{"kornia": ELASTIC}], backend="dali")


def test_readme_example():
    spec = """
augment:
  - kornia: {transform: RandomElasticTransform, args: {alpha: [1.0, 1.0]}, p: 0.5}
  - one_of:
      p: 0.5
      ops:
        - rotate: {degrees: 10}
        - kornia: {transform: RandomMotionBlur, args: {kernel_size: 5, angle: 30.0, direction: 0.5}}
"""
    pipe = augment.build(spec, seed=0)
    images = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)
    out = pipe(images)
    assert out.shape == images.shape and out.dtype == torch.float32
    assert torch.equal(pipe(images, params=pipe.last_params), out)
    untouched = ~(pipe.last_params["0.kornia"]["active"] | pipe.last_params["1.rotate"]["active"]
                  | pipe.last_params["2.kornia"]["active"])
    assert untouched.any() and torch.equal(out[untouched], images[untouched].float() / 255)
    assert not torch.equal(out[~untouched], images[~untouched].float() / 255)


def test_a_colour_only_transform_takes_grey_images_as_three_equal_channels():
    grey = torch.rand(4, 1, 32, 32)
    args = {"jpeg_quality": [10.0, 10.0]}
    out = kornia({"transform": "RandomJPEG", "args": args}, seed=0)(grey)
    expected = K.RandomJPEG(jpeg_quality=(10.0, 10.0), p=1.0)(grey.expand(-1, 3, -1, -1)).mean(1, keepdim=True)
    assert out.shape == grey.shape
    assert torch.allclose(out, expected, atol=1e-6)
    assert (out - grey).abs().mean() > 0.005, "quality 10 changes the image"
    blur = kornia({"transform": "RandomBoxBlur", "args": {"kernel_size": [3, 3]}}, seed=0)
    assert blur.ops[0].colour_only is False and blur(grey).shape == grey.shape
