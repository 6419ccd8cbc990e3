"""Fresh draws in every process: a pipeline inside a user's Dataset under real DataLoader workers (fork, spawn,
forkserver; persistent or not) augments differently every epoch, in every worker, and a seed reproduces the run.
Pipelines pickle, deep-copy and ``torch.save``, and a copy continues the original's sequence."""
import copy
import io
import pickle

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from blackmagic import augment

SPEC = [{"rotate": {"degrees": 30}}, {"noise": {"std": [0.01, 0.1]}}, {"blur": {"sigma": [0.3, 1.5], "p": 0.5}}]
N = 8


class AugmentedSamples(Dataset):
    """A user's Dataset: every sample is the same image, augmented in ``__getitem__``."""

    def __init__(self, pipe: augment.Pipeline):
        self.pipe = pipe
        self.image = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return N

    def __getitem__(self, i):
        info = torch.utils.data.get_worker_info()
        return self.pipe(self.image)[0], -1 if info is None else info.id


def epochs(context: str, persistent: bool, seed: int | None, manual_seed: int | None = None, count: int = 3):
    """The augmented samples of ``count`` epochs, (epoch, sample) -> tensor, and which worker made each."""
    if manual_seed is not None:
        torch.manual_seed(manual_seed)
    loader = DataLoader(AugmentedSamples(augment.build(SPEC, seed=seed)), batch_size=2, num_workers=2,
                        multiprocessing_context=context, persistent_workers=persistent)
    out = []
    for _ in range(count):
        xs, workers = zip(*loader)
        out.append((torch.cat(xs), torch.cat(workers)))
    return out


CONTEXTS = ["fork", "spawn", "forkserver"]


@pytest.mark.slow
@pytest.mark.parametrize("persistent", [False, True], ids=["fresh-workers", "persistent-workers"])
@pytest.mark.parametrize("context", CONTEXTS)
def test_every_epoch_and_every_worker_draws_afresh(context, persistent):
    runs = epochs(context, persistent, seed=0)
    samples = [x for x, _ in runs]
    for a in range(len(samples)):
        for b in range(a):
            assert not torch.equal(samples[a], samples[b]), f"epochs {b} and {a} were augmented alike"
    x, workers = runs[0]
    assert set(workers.tolist()) == {0, 1}
    flat = x.flatten(1)
    assert len({tuple(row.tolist()) for row in flat}) == N, "two samples (of one worker or two) were augmented alike"
    main = AugmentedSamples(augment.build(SPEC, seed=0))
    in_main = torch.stack([main[i][0] for i in range(N)])
    assert not any(torch.equal(w, m) for w in x for m in in_main), "a worker replayed the main process's stream"


@pytest.mark.slow
@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_a_seeded_run_reproduces_over_epochs(context):
    for seed in (0, None):  # the pipeline's own seed, or one drawn from torch's global generator
        first = epochs(context, persistent=False, seed=seed, manual_seed=123)
        second = epochs(context, persistent=False, seed=seed, manual_seed=123)
        for (a, wa), (b, wb) in zip(first, second):
            assert torch.equal(a, b) and torch.equal(wa, wb)
        other = epochs(context, persistent=False, seed=seed, manual_seed=124, count=1)
        assert not torch.equal(other[0][0], first[0][0]), "torch's seed did not reach the workers' streams"


def roundtrips(pipe):
    buffer = io.BytesIO()
    torch.save(pipe, buffer)
    buffer.seek(0)
    return {"pickle": pickle.loads(pickle.dumps(pipe)), "deepcopy": copy.deepcopy(pipe),
            "torch.save": torch.load(buffer, weights_only=False)}


def test_copies_continue_the_original_sequence():
    x = torch.rand(4, 3, 16, 16)
    pipe = augment.build(SPEC + [{"color_shift": {"brightness": 0.3}}], seed=5)
    pipe(x)  # the copies start mid-sequence
    for how, twin in roundtrips(pipe).items():
        reference = copy.deepcopy(pipe)
        for _ in range(2):
            assert torch.equal(twin(x), reference(x)), f"a {how} copy does not continue the sequence"


def test_state_dict_resumes_the_sequence():
    x = torch.rand(4, 1, 16, 16)
    pipe = augment.build(SPEC, seed=1)
    pipe(x)
    state = pipe.state_dict()
    expected = [pipe(x) for _ in range(2)]
    fresh = augment.build(SPEC, seed=99)
    fresh.load_state_dict(state)
    assert fresh.seed == 1
    assert all(torch.equal(fresh(x), e) for e in expected)
    assert torch.equal(augment.build(SPEC, seed=1).reset()(x), augment.build(SPEC, seed=1)(x))
