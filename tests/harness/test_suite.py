"""Suites: the shipped defaults, flattening into cells, errors that name what is wrong, and suites as the
datamodule's shifted test sets."""
from pathlib import Path

import pytest
import torch
import yaml

from blackmagic.augment import SpecError
from blackmagic.augment.pipeline import build
from blackmagic.augment.suite import builtin_suites, default_suite, load_suite, read_suite

from ..datamodules.test_base import stub_trainer
from ..helpers import IndexedDataModule, ToneDataModule


def leaves(spec):
    """Every (op name, params) in a spec, one_of / some_of children included."""
    for item in spec:
        (name, value), = item.items()
        if name in ("one_of", "some_of"):
            yield from leaves(value["ops"] if isinstance(value, dict) else value)
        else:
            yield name, value


def fixed(params, key):
    lo, hi = params[key]
    assert lo == hi, f"{key} is a range {params[key]}, not a fixed magnitude"
    return lo


def magnitudes(suite, corruption, op, key):
    """Per severity, the sorted set of values ``op.key`` takes (both signs of a one_of)."""
    return [sorted({fixed(p, key) for name, p in leaves(c.spec) if name == op})
            for c in suite.cells if c.corruption == corruption]


def test_default_image_suite_is_fixed_graded_and_strong_enough():
    suite = load_suite("images")
    assert suite.corruptions == ["rotate", "translate", "noise", "blur", "pixel_dropout", "brightness", "contrast",
                                 "chain"]
    assert all(c.severity in (1, 2, 3) for c in suite.cells) and len(suite.cells) == 24
    assert all(p.get("p") == 1 for c in suite.cells for _, p in leaves(c.spec))
    assert magnitudes(suite, "rotate", "rotate", "degrees") == [[-10, 10], [-20, 20], [-30, 30]]
    assert magnitudes(suite, "translate", "translate", "x") == [[-2, 2], [-3, 3], [-4, 4]]
    assert magnitudes(suite, "translate", "translate", "y") == [[-2, 2], [-3, 3], [-4, 4]]
    assert magnitudes(suite, "noise", "noise", "std") == [[0.05], [0.1], [0.15]]
    assert magnitudes(suite, "blur", "blur", "sigma") == [[0.5], [1.0], [1.5]]
    assert magnitudes(suite, "pixel_dropout", "pixel_dropout", "rate") == [[0.05], [0.15], [0.25]]
    assert magnitudes(suite, "brightness", "color_shift", "shift") == [[0.1], [0.2], [0.3]]
    assert magnitudes(suite, "contrast", "color_shift", "contrast") == [[0.7], [0.55], [0.4]]
    strongest = {c.corruption: c for c in suite.cells if c.severity == 3}
    assert abs(magnitudes(suite, "rotate", "rotate", "degrees")[2][0]) >= 30
    assert fixed(dict(leaves(strongest["noise"].spec))["noise"], "std") >= 0.15
    assert fixed(dict(leaves(strongest["blur"].spec))["blur"], "sigma") >= 1.5
    assert fixed(dict(leaves(strongest["pixel_dropout"].spec))["pixel_dropout"], "rate") >= 0.25
    assert fixed(dict(leaves(strongest["contrast"].spec))["color_shift"], "contrast") <= 0.4
    assert fixed(dict(leaves(strongest["brightness"].spec))["color_shift"], "shift") >= 0.3


def test_default_image_chain_applies_its_ops_in_order():
    suite = load_suite("images")
    chains = [c.spec for c in suite.cells if c.corruption == "chain"]
    for spec in chains:
        order = [next(iter(leaves([item])))[0] for item in spec]
        assert order == ["rotate", "translate", "blur", "color_shift", "noise"]
    assert magnitudes(suite, "chain", "rotate", "degrees") == [[-5, 5], [-10, 10], [-15, 15]]
    assert magnitudes(suite, "chain", "translate", "x") == [[-1, 1], [-2, 2], [-2, 2]]
    assert magnitudes(suite, "chain", "blur", "sigma") == [[0.5], [0.75], [1.0]]
    assert magnitudes(suite, "chain", "color_shift", "contrast") == [[0.85], [0.7], [0.55]]
    assert magnitudes(suite, "chain", "noise", "std") == [[0.03], [0.06], [0.1]]


def test_default_audio_suite_is_fixed_and_graded():
    suite = load_suite("audio", sample_rate=16_000)  # reverb's RT60 is in seconds: the suite needs the rate
    assert suite.validate(sample_rate=16_000) == "audio"
    assert suite.corruptions == ["noise", "time_shift", "quiet", "distortion", "speed", "reverb", "lowpass",
                                 "telephone", "pink_noise"]
    assert all(c.severity in (1, 2, 3) for c in suite.cells) and len(suite.cells) == 27
    assert all(p.get("p") == 1 for c in suite.cells for _, p in leaves(c.spec))
    assert magnitudes(suite, "noise", "noise_snr", "snr_db") == [[20], [10], [5]]
    assert magnitudes(suite, "time_shift", "time_shift", "shift") == [[-0.1, 0.1], [-0.2, 0.2], [-0.3, 0.3]]
    assert all(p["rollover"] is False for c in suite.cells for name, p in leaves(c.spec) if name == "time_shift")
    assert magnitudes(suite, "quiet", "gain", "db") == [[-10], [-20], [-30]]
    assert magnitudes(suite, "distortion", "distortion", "amount") == [[0.2], [0.4], [0.6]]
    assert {p["mode"] for c in suite.cells for name, p in leaves(c.spec) if name == "distortion"} == {"tanh"}
    assert magnitudes(suite, "speed", "speed", "factor") == [[0.9, 1.1], [0.8, 1.2], [0.7, 1.3]]
    assert magnitudes(suite, "reverb", "reverb", "rt60") == [[0.3], [0.6], [1.0]]
    assert magnitudes(suite, "reverb", "reverb", "drr_db") == [[10], [5], [0]]
    assert magnitudes(suite, "lowpass", "band_limit", "cutoff_hz") == [[3500], [2000], [1000]]
    assert magnitudes(suite, "lowpass", "band_limit", "rolloff_db") == [[24], [24], [24]]
    assert {p["mode"] for c in suite.cells for name, p in leaves(c.spec) if name == "band_limit"} == {"lowpass"}
    assert magnitudes(suite, "telephone", "telephone", "low_hz") == [[300], [500], [700]]
    assert magnitudes(suite, "telephone", "telephone", "high_hz") == [[3400], [2800], [2200]]
    assert magnitudes(suite, "pink_noise", "colored_noise", "snr_db") == [[20], [10], [5]]
    assert {p["color"] for c in suite.cells for name, p in leaves(c.spec) if name == "colored_noise"} == {"pink"}


def test_builtin_suites_are_found_by_name_and_by_kind():
    assert set(builtin_suites()) >= {"images", "audio"}
    assert read_suite("images") == read_suite(default_suite("image"))
    assert read_suite(str(default_suite("audio"))).source == str(default_suite("audio"))
    assert load_suite("images").validate() == "image"
    with pytest.raises(ValueError, match="no built-in suite for data of kind 'video'"):
        default_suite("video")


def test_a_suite_flattens_to_ordered_named_cells():
    suite = read_suite({"noise": [[{"noise": {"std": [0.1, 0.1]}}], [{"noise": {"std": [0.2, 0.2]}}]],
                        "rotated": [{"rotate": {"degrees": [20, 20]}}]})
    assert [(c.name, c.corruption, c.severity) for c in suite.cells] == [
        ("noise_1", "noise", 1), ("noise_2", "noise", 2), ("rotated", "rotated", 1)]
    assert suite.shifts == {"noise_1": [{"noise": {"std": [0.1, 0.1]}}], "noise_2": [{"noise": {"std": [0.2, 0.2]}}],
                            "rotated": [{"rotate": {"degrees": [20, 20]}}]}


def test_an_invalid_spec_names_the_corruption_the_severity_and_the_key(tmp_path):
    bad = {"rotate": [[{"rotate": {"degrees": [5, 5]}}], [{"rotate": {"degree": [10, 10]}}]]}
    with pytest.raises(SpecError, match=r"rotate, severity 2: .*op 'rotate', key 'degree': unknown key"):
        load_suite(bad)
    path = tmp_path / "mine.yaml"
    path.write_text("blur:\n  - [blur: {sigma: [0.5, 0.5]}]\n  - [blur: {sigma: [-1, -1]}]\n")
    with pytest.raises(SpecError, match=rf"suite {path}: blur, severity 2: .*op 'blur', key 'sigma'"):
        load_suite(path)
    with pytest.raises(SpecError, match="twirl, severity 1: .*unknown op 'twirl'"):
        load_suite({"twirl": [[{"twirl": {}}]]})
    with pytest.raises(SpecError, match=r"more than one kind of input: image \('noise'\), audio \('quiet'\)"):
        load_suite({"noise": [{"noise": {"std": 0.1}}], "quiet": [{"gain": {"db": [-20, -20]}}]})


@pytest.mark.parametrize("layout, message", [
    ({"clean": [{"noise": {"std": 0.1}}]}, "'clean' names the unshifted test set"),
    ({"noise": []}, "corruption 'noise': expected one spec"),
    ({"noise": [[{"noise": {"std": 0.1}}], {"noise": {"std": 0.2}}]},
     "corruption 'noise', severity 2: expected a non-empty list"),
    ({"noise": [[{"noise": {"std": 0.1}}], []]}, "corruption 'noise', severity 2: expected a non-empty list"),
    ({"rotate_1": [{"rotate": {"degrees": 5}}], "rotate": [[{"rotate": {"degrees": 9}}]]}, "more than one .* rotate_1"),
    (["noise"], "expected a mapping of corruption"),
])
def test_a_malformed_suite_says_what_the_layout_should_be(layout, message):
    with pytest.raises(SpecError, match=message):
        read_suite(layout)


def test_a_missing_or_broken_suite_file_is_named(tmp_path):
    with pytest.raises(SpecError, match=r"no such file: .*nope.yaml; .*built-in suite \(.*images"):
        read_suite(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("noise: [[{noise: {std: 0.1}]\n")
    with pytest.raises(SpecError, match=f"suite {broken}: not valid YAML"):
        read_suite(broken)


def shifted_batches(dm):
    """Every shifted test set's first batch after the datamodule's transfer hook, in test_names order."""
    dm.setup("test")
    dm.trainer = stub_trainer(testing=True)
    out = []
    for idx, batches in enumerate(dm.test_dataloader()):
        out.append(dm.on_after_batch_transfer(next(iter(batches)), idx)[0])
    return out


def test_datamodule_test_shifts_take_a_suite_mapping_or_file(tmp_path):
    suite = {"noise": [[{"noise": {"std": [0.05, 0.05]}}], [{"noise": {"std": [0.2, 0.2]}}]],
             "rotated": [{"rotate": {"degrees": [20, 20]}}]}
    dm = IndexedDataModule(n=30, test_shifts=suite)
    assert dm.test_names == ["test", "test_noise_1", "test_noise_2", "test_rotated"]
    clean, mild, strong, _ = shifted_batches(dm)
    assert 0.05 < float((mild - clean).std()) < float((strong - clean).std())  # severity 2 is the stronger one
    path = tmp_path / "suite.yaml"
    path.write_text("noise:\n  - [noise: {std: [0.05, 0.05]}]\n  - [noise: {std: [0.2, 0.2]}]\n"
                    "rotated: [rotate: {degrees: [20, 20]}]\n")
    from_file = IndexedDataModule(n=30, test_shifts=str(path))
    assert from_file.test_names == dm.test_names
    for a, b in zip(shifted_batches(from_file), shifted_batches(IndexedDataModule(n=30, test_shifts=suite))):
        torch.testing.assert_close(a, b)  # seeded: the same shifted sets from the same suite
    builtin = IndexedDataModule(test_shifts="images")
    assert builtin.test_names[1:4] == ["test_rotate_1", "test_rotate_2", "test_rotate_3"]


def test_datamodule_names_the_bad_cell_and_refuses_a_suite_of_the_other_kind():
    with pytest.raises(SpecError, match=r"IndexedDataModule.test_shifts.rotate, severity 2: .*key 'degree'"):
        IndexedDataModule(test_shifts={"rotate": [[{"rotate": {"degrees": 5}}], [{"rotate": {"degree": 5}}]]})
    other_kind = r"ToneDataModule.test_shifts.rotate, severity 1 \(suite .*images.yaml\): holds image"
    with pytest.raises(SpecError, match=other_kind):
        ToneDataModule(test_shifts="images")
    with pytest.raises(SpecError, match="IndexedDataModule.test_shifts: suite: corruption 'noise': expected one spec"):
        IndexedDataModule(test_shifts={"noise": 0.1})


def test_the_held_out_image_suite_is_graded_and_unseen_by_the_image_recipes():
    suite = load_suite("images_held_out")
    assert suite.validate() == "image" and len(suite.corruptions) >= 10
    assert all(c.severity in (1, 2, 3) for c in suite.cells) and len(suite.cells) == 3 * len(suite.corruptions)
    assert all(p.get("p") == 1 for c in suite.cells for _, p in leaves(c.spec))
    transforms = {p["transform"] for c in suite.cells for name, p in leaves(c.spec) if name == "kornia"}
    assert {name for c in suite.cells for name, _ in leaves(c.spec)} == {"kornia"}
    for recipe in sorted(Path(__file__).parents[2].glob("recipes/**/*.yaml")):
        augment = (yaml.safe_load(recipe.read_text()).get("data") or {}).get("init_args", {}).get("augment") or []
        trained = {p["transform"] if name == "kornia" else name for name, p in leaves(augment)}
        assert not transforms & trained, f"{recipe.name} trains on a held-out corruption"
    # every corruption hurts a batch of grey garments-like images more at each severity (mean |change|)
    g = torch.Generator().manual_seed(0)
    images = torch.nn.functional.avg_pool2d(torch.rand(32, 1, 28, 28, generator=g), 3, 1, 1)
    images[..., :, :4] = images[..., :, -4:] = 0  # a dark border, as Fashion-MNIST has
    for corruption in suite.corruptions:
        change = [float((build(c.spec, seed=0)(images.clone()) - images).abs().mean())
                  for c in suite.cells if c.corruption == corruption]
        assert change[0] > 1e-3 and change == sorted(change), f"{corruption}: {change}"
