"""The same checkpoint always gets the same metrics (issue #13): in any process, after any history, with any
number of workers, through the API or ``tools/test.py``; and an evaluation changes no global random state.

Acc_f, Acc_r and the MIA are measured on augmented training images, so without per-pass seeds the numbers
would depend on what the process drew before (the briefly trained CNN below is sensitive enough to show it).
"""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader

from conftest import REPO
from unlearn.apis import load_experiment
from unlearn.checkpoint import load_weights
from unlearn.evaluation import seeded_rng

CONFIG = REPO / 'configs' / 'cls' / 'digits_forget_3.py'

# A second process with a history: random draws, a few training steps on augmented images, an evaluation
# of another network; then the same command line as the fresh process.
BUSY_THEN_TEST = '''
import random, runpy, sys
import numpy as np, torch
from mmengine.config import Config
from torch.utils.data import DataLoader, Subset
from unlearn.apis import load_experiment
torch.rand(10000); np.random.rand(10000); [random.random() for _ in range(1000)]
cfg = Config.fromfile(sys.argv[1])
experiment = load_experiment(cfg)
task, evaluator, splits = experiment.task, experiment.evaluator, experiment.request
other = task.build_network(cfg.model)
optimizer = torch.optim.SGD(other.parameters(), lr=0.05)
for _, batch in zip(range(5), DataLoader(splits.original_data.train, batch_size=64, shuffle=True)):
    optimizer.zero_grad()
    task.supervised_loss(other, batch).backward()
    optimizer.step()
evaluator.predict(other, Subset(splits.train_remain_eval, range(100)), 'train_remain_eval')
sys.argv = ['tools/test.py', *sys.argv[1:]]
runpy.run_path('tools/test.py', run_name='__main__')
'''


@pytest.fixture(scope='module')
def digits():
    cfg = Config.fromfile(CONFIG)
    experiment = load_experiment(cfg)
    return experiment.task, experiment.evaluator, experiment.request, cfg.model


@pytest.fixture(scope='module')
def checkpoint(digits, tmp_path_factory):
    """A DigitsCNN after a few SGD steps: far from certain, so augmentation moves its metrics."""
    task, evaluator, splits, model_cfg = digits
    with seeded_rng(0):
        network = task.build_network(model_cfg)
        optimizer = torch.optim.SGD(network.parameters(), lr=0.05, momentum=0.9)
        for _, batch in zip(range(8), DataLoader(splits.original_data.train, batch_size=64, shuffle=True)):
            optimizer.zero_grad()
            task.supervised_loss(network, batch).backward()
            optimizer.step()
    path = tmp_path_factory.mktemp('determinism') / 'digits_cnn.pth'
    torch.save(network.state_dict(), path)
    return path


@pytest.fixture(scope='module')
def metrics(digits, checkpoint):
    task, evaluator, splits, model_cfg = digits
    return evaluator.evaluate(load_weights(task.build_network(model_cfg), checkpoint), splits)


def _random_states() -> tuple:
    return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()


def test_evaluating_again_gives_the_same_metrics_and_leaves_the_random_state_alone(digits, checkpoint, metrics):
    task, evaluator, splits, model_cfg = digits
    network = load_weights(task.build_network(model_cfg), checkpoint)
    torch.rand(1000), np.random.rand(1000), random.random()  # another history than the first evaluation's
    before = _random_states()
    assert evaluator.evaluate(network, splits) == metrics
    after = _random_states()
    assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1]) and before[2] == after[2]


def test_workers_draw_the_same_augmentations_as_the_main_process(digits, checkpoint, monkeypatch):
    task, evaluator, splits, model_cfg = digits
    network = load_weights(task.build_network(model_cfg), checkpoint)
    in_main = evaluator.predict(network, splits.train_forget_eval, 'train_forget_eval')
    monkeypatch.setattr(task, 'num_workers', 2)
    in_workers = evaluator.predict(network, splits.train_forget_eval, 'train_forget_eval')
    assert all(np.array_equal(a, b) for a, b in zip(in_main, in_workers))


def test_tools_test_gives_the_same_numbers_in_two_processes_with_different_histories(checkpoint, metrics, tmp_path):
    """A fresh ``tools/test.py`` and one after training and evaluating something else, run side by side, agree
    with each other and with the in-process evaluation above."""
    env = dict(os.environ, OMP_NUM_THREADS='1', NO_ALBUMENTATIONS_UPDATE='1')
    args = [str(CONFIG), str(checkpoint), '--cfg-options', f'checkpoint_dir={tmp_path / "no_cache"}', '--out']
    fresh = subprocess.Popen([sys.executable, 'tools/test.py', *args, str(tmp_path / 'fresh.json')], cwd=REPO,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    busy = subprocess.run([sys.executable, '-c', BUSY_THEN_TEST, *args, str(tmp_path / 'busy.json')], cwd=REPO,
                          env=env, capture_output=True, text=True)
    fresh_out, fresh_err = fresh.communicate()
    assert fresh.returncode == 0, fresh_err
    assert busy.returncode == 0, busy.stderr
    assert '\r' not in fresh_out + busy.stdout  # progress off a terminal: plain lines
    rows = [json.loads((tmp_path / name).read_text()) for name in ('fresh.json', 'busy.json')]
    assert rows[0] == rows[1] == {checkpoint.name: json.loads(json.dumps(metrics))}
