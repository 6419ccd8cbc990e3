"""Reshuffled every epoch, no minibatch ever repeated, every sample exactly once per epoch, ranks in step."""
import numpy as np
import pytest

from blackmagic.datamodules.sampling import EpochSchedule


def epochs(schedule, n_epochs, world):
    return [[schedule.rank_batches(e, r) for r in range(world)] for e in range(n_epochs)]


@pytest.mark.parametrize("n,batch,world", [(1000, 32, 1), (1000, 32, 2), (997, 50, 3), (10, 2, 4), (64, 64, 1)])
def test_every_sample_once_per_epoch_and_ranks_step_together(n, batch, world):
    s = EpochSchedule(n, batch, seed=1, world_size=world)
    for plan in epochs(s, 3, world):
        seen = np.concatenate([b for rank in plan for b in rank])
        assert np.array_equal(np.sort(seen), np.arange(n)), "a sample was dropped or duplicated"
        assert len({len(rank) for rank in plan}) == 1, "ranks take different numbers of steps"
        sizes = [len(b) for rank in plan for b in rank]
        assert max(sizes) - min(sizes) <= 1 and max(sizes) <= batch + 1 and min(sizes) >= 1
        for a in range(world):
            for b in range(a + 1, world):
                assert not set(np.concatenate(plan[a])) & set(np.concatenate(plan[b])), "ranks overlap"


@pytest.mark.parametrize("world", [1, 2])
def test_order_differs_every_epoch_and_no_minibatch_repeats_across_five_epochs(world):
    s = EpochSchedule(600, 20, seed=0, world_size=world)
    plans = epochs(s, 5, world)
    orders = [np.concatenate([b for rank in p for b in rank]) for p in plans]
    for i in range(5):
        for j in range(i + 1, 5):
            assert not np.array_equal(orders[i], orders[j])
    batches = [frozenset(b.tolist()) for p in plans for rank in p for b in rank]
    assert len(batches) == len(set(batches)), "a minibatch came back"


def test_small_sets_that_would_repeat_by_chance_are_redrawn():
    s = EpochSchedule(6, 2, seed=0)  # only 15 possible pairs: chance repeats are likely without the check
    batches = [frozenset(b.tolist()) for e in range(4) for b in s.rank_batches(e)]
    assert len(batches) == len(set(batches)) == 12


def test_deterministic_for_a_seed_and_replayable():
    a, b = EpochSchedule(100, 10, seed=3), EpochSchedule(100, 10, seed=3)
    for e in range(3):
        assert all(np.array_equal(x, y) for x, y in zip(a.rank_batches(e), b.rank_batches(e)))
    first = [x.copy() for x in a.rank_batches(0)]
    a.rank_batches(5)
    assert all(np.array_equal(x, y) for x, y in zip(a.rank_batches(0), first)), "an old epoch changed on replay"
    c = EpochSchedule(100, 10, seed=4)
    assert not np.array_equal(np.concatenate(c.rank_batches(0)), np.concatenate(b.rank_batches(0)))


def test_refuses_impossible_sharding():
    with pytest.raises(ValueError, match="cannot shard 3 samples over 4 ranks"):
        EpochSchedule(3, 1, world_size=4)
