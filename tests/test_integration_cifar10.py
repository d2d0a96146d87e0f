"""Real CIFAR-10 (../shared/data): DELETE on a small three-class subset forgets deer and keeps the rest.

Slow: trains a ResNet-20 original and oracle on 1,500 real images. Run with ``make test-slow``; skipped
when ../shared/data is absent (a user's machine does not have it).
"""
import json

import pytest

from conftest import REPO, run_tool

pytestmark = pytest.mark.slow
CLASSES = ('airplane', 'deer', 'truck')


@pytest.fixture(scope='module')
def cifar_subset(prepared_cifar10, tmp_path_factory):
    subset = tmp_path_factory.mktemp('cifar10_subset')
    for split, per_class in (('train', 500), ('test', 200)):
        for name in CLASSES:
            target = subset / split / name
            target.mkdir(parents=True)
            for image in sorted((prepared_cifar10 / split / name).iterdir())[:per_class]:
                (target / image.name).symlink_to(image)
    return subset


def test_delete_on_real_cifar10_subset(cifar_subset, tmp_path):
    status, _, err = run_tool(
        'unlearn.py', REPO / 'configs' / 'cls' / 'cifar10_resnet20_cpu_forget_deer.py', '--work-dir', tmp_path / 'runs',
        '--cfg-options', f'task.dataset.root={cifar_subset}', f'checkpoint_dir={tmp_path / "ckpt"}',
        'task.num_workers=0', 'train_schedule.max_epochs=12', 'train_schedule.param_scheduler.step_size=9',
        'train_schedule.batch_size=64', 'schedule.batch_size=64', 'schedule.optim_wrapper.optimizer.lr=1e-3')
    assert status == 0, err
    run_dir = next((tmp_path / 'runs').iterdir())
    m = json.loads((run_dir / 'metrics.json').read_text())
    assert m['original']['acc_ft'] >= 60, 'the original must have learnt deer before we can test forgetting'
    assert m['acc_ft'] <= 5 and m['acc_f'] <= 5
    assert m['acc_rt'] >= m['original']['acc_rt'] - 10
    assert m['h_mean'] >= m['retrain']['h_mean'] - 10
