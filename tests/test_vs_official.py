"""benchmarks/vs_official.py: its re-typed official procedure reads the official splits and does DELETE's math
(its timings are not tested)."""
import copy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import load_benchmark
from method_helpers import one_thread  # noqa: F401
from unlearn.losses import delete_loss


@pytest.fixture(scope='module')
def vs_official():
    return load_benchmark('vs_official')


def _data(n_train=40, n_test=20):
    generator = torch.Generator().manual_seed(0)
    images = lambda n: torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=generator)  # noqa: E731
    return SimpleNamespace(train=SimpleNamespace(images=images(n_train)), test=SimpleNamespace(images=images(n_test)),
                           train_targets=[i % 4 for i in range(n_train)], test_targets=[i % 4 for i in range(n_test)],
                           mean=(0.5,) * 3, std=(0.25,) * 3)


def test_the_official_loaders_are_its_four_splits(vs_official):
    loaders = vs_official.official_loaders(_data(), 1, batch_size=8)
    sizes = {split: sum(len(y) for _, y in loader) for split, loader in loaders.items()}
    assert sizes == dict(train_forget=10, train_remain=30, test_forget=5, test_remain=15)
    assert all((y == 1).all() for _, y in loaders['train_forget'])
    assert not any((y == 1).any() for _, y in loaders['test_remain'])


def test_one_official_step_is_the_frameworks_delete_step(vs_official):
    """A single batch and epoch: the official loop's update equals an SGD step on the framework's delete_loss."""
    torch.manual_seed(0)
    network = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 4))
    data = _data(n_train=8)
    loaders = vs_official.official_loaders(data, 1, batch_size=8)
    x, y = next(iter(loaders['train_forget']))
    loaders['train_forget'] = [(x, y)]
    result = vs_official.official_delete(network, loaders, epochs=1, lr=0.1)
    assert set(result) == {'student', 'epoch_s', 'train_forget', 'train_remain', 'test_forget', 'test_remain'}

    student, teacher = copy.deepcopy(network), copy.deepcopy(network).eval()
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9)
    with torch.no_grad():
        z = teacher(x)
    loss = delete_loss(student(x), z, F.one_hot(y, 4).bool())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    for official, ours in zip(result['student'].parameters(), student.parameters()):
        assert torch.allclose(official, ours, atol=1e-6)
    assert not torch.allclose(result['student'][1].weight, network[1].weight), 'the step moved the weights'
