"""Real CIFAR-10 (../shared/data): the 3x3 BadNet backdoor on a class-balanced subset, found by Neural Cleanse and
erased by DELETE (issue #16's slow test; the full-data tables are in docs/results.md).

Slow: trains a backdoored ResNet-20 and its oracle on 5,000 real images and runs the 10-class scan. Run with
``make test-slow``; skipped when ../shared/data is absent (a user's machine does not have it).
"""
import json
import subprocess
import sys

import pytest

from conftest import REPO, SHARED_DATA, run_tool

pytestmark = pytest.mark.slow
CONFIG = REPO / 'configs' / 'backdoor' / 'cifar10_resnet20_cpu_badnet3x3_forget_backdoor.py'


@pytest.fixture(scope='module')
def cifar10(tmp_path_factory):
    if not (SHARED_DATA / 'cifar10_jpeg_full.npz').is_file():
        pytest.skip('../shared/data/cifar10_jpeg_full.npz is absent')
    out = tmp_path_factory.mktemp('prepared')
    subprocess.run([sys.executable, str(SHARED_DATA.parent / 'tools' / 'prepare_data.py'), str(out), 'cifar10'],
                   check=True, capture_output=True)
    return out / 'cifar10'


def test_delete_erases_a_badnet_backdoor_on_a_cifar10_subset(cifar10, tmp_path):
    status, _, err = run_tool(
        'unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs', '--cfg-options', f'task.dataset.root={cifar10}',
        'task.dataset.per_class=[500,100]', f'checkpoint_dir={tmp_path / "ckpt"}', 'schedule.curve_interval=0',
        'train_schedule.max_epochs=12', 'train_schedule.param_scheduler.step_size=9', 'train_schedule.batch_size=64')
    assert status == 0, err
    m = json.loads((next((tmp_path / 'runs').iterdir()) / 'metrics.json').read_text())
    original, retrain = m['original'], m['retrain']
    assert original['asr'] >= 90, 'the backdoor must work on the original before its removal can be tested'
    assert original['recovery']['target'] == 0 and original['recovery']['correct'], 'Neural Cleanse finds airplane'
    assert m['asr'] <= max(5.0, retrain['asr'] + 2)
    assert m['clean_acc'] >= original['clean_acc'] - 5
