"""Per-row percentiles (CPU selection and accelerator sort paths) against NumPy's 'linear' percentile."""
import numpy as np
import pytest
import torch

from blackmagic.augment.percentiles import _by_selection, _by_sort, percentiles


def rows(kind, shape=(40, 4001), seed=0):
    rng = np.random.default_rng(seed)
    if kind == "signed":
        return rng.normal(0, 1, shape).astype(np.float32)
    if kind == "ties":  # few distinct values, zeros of both signs, extremes
        v = rng.choice(np.array([-3.0, -0.0, 0.0, 0.5, 0.5, 2.0, 1e30, -1e-30], np.float32), shape)
        return v.astype(np.float32)
    return np.abs(rng.normal(0, 1, shape)).astype(np.float32)


def qs(n, seed=1):
    q = np.random.default_rng(seed).uniform(0, 100, n)
    q[:4] = [0.0, 100.0, 50.0, 25.0]  # both ends and ranks that fall on whole positions
    return q


@pytest.mark.parametrize("kind", ["signed", "ties", "nonnegative"])
@pytest.mark.parametrize("path", ["selection", "sort"])
def test_percentiles_equal_numpy(kind, path):
    x = rows(kind)
    q = [qs(len(x), seed=s) for s in (1, 2, 3)]  # several per row, in no particular order
    tq = [torch.from_numpy(p).float() for p in q]
    if path == "selection":
        got = _by_selection(torch.from_numpy(x.copy()), tq, nonnegative=kind == "nonnegative")
    else:
        got = _by_sort(torch.from_numpy(x.copy()), tq)
    for p, g in zip(tq, got):
        expected = np.array([np.percentile(r, v) for r, v in zip(x, p.double().numpy())])
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-6, atol=0)


def test_whole_ranks_are_exact_order_statistics():
    x = rows("signed", shape=(30, 1001))
    ranks = np.random.default_rng(4).integers(0, 1001, len(x))
    (got,) = percentiles(torch.from_numpy(x.copy()), [torch.from_numpy(ranks / 1000 * 100)])
    np.testing.assert_array_equal(got.numpy(), np.sort(x, axis=1)[np.arange(len(x)), ranks])


def test_percentiles_of_a_single_column_and_of_constant_rows():
    one = torch.tensor([[2.5], [-1.0]])
    assert percentiles(one, [torch.tensor([0.0, 100.0])])[0].tolist() == [2.5, -1.0]
    flat = torch.full((3, 50), 0.25)
    assert percentiles(flat.clone(), [torch.tensor([0.0, 33.3, 100.0])])[0].tolist() == [0.25] * 3
