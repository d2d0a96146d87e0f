"""Real CIFAR-10 (../shared/data): a 3x3 BadNet backdoor on a class-balanced subset, found by Neural Cleanse and
erased by DELETE without a retrain oracle (a model owner's run); the attack's own trigger bounds what the recovery
costs. The full-data tables are in docs/results.md.

Slow (~30 min on 2 cores): a backdoored ResNet-20 on 20,000 real images (2,000 a class), trained once for both tests
and cached; 30 % of the non-target images poisoned (at the config's 10 % the 8-epoch original's ASR stays near 15);
the defender holds 15 % of the clean images (2,190, the full-data run's 5 % holds 2,275); a short Neural Cleanse scan
(20 steps of 500 images per class). Run with ``make test-slow``; skipped when ../shared/data is absent.

Measured (one thread, the other core busy: 1,477 s and 323 s), training seed 2022 / 1 (the seed-1 run by the same
options on the command line, ``train_schedule.seed=1``): the original's ASR 96.67 / 95.59 (clean 63.67 / 63.60);
t̂ 'airplane' (anomaly index 2.31 / 2.15: flagged, thinly, so the flag is not asserted); DELETE's ASR 39.37 / 9.85,
the recovered trigger's 99.93 -> 7.78 / 99.74 -> 14.22, clean 63.27 / 62.80; with the attack's own trigger ASR
4.85 / 4.41, clean 63.93 / 62.67.
"""
import json

import pytest

from conftest import REPO, run_tool

pytestmark = pytest.mark.slow
CONFIG = REPO / 'configs' / 'backdoor' / 'cifar10_resnet20_cpu_badnet3x3_forget_backdoor.py'
SUBSET = ('task.dataset.per_class=[2000,300]', 'task.attack.poison_rate=0.3', 'task.defense.clean_fraction=0.15',
          'train_schedule.max_epochs=8', 'train_schedule.param_scheduler.step_size=6', 'retrain=None',
          'schedule.curve_interval=0')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """One cache for the module: the backdoored original is trained by the first test and read by the second."""
    return tmp_path_factory.mktemp('checkpoints')


def unlearn(config, data, checkpoints, work_dir, *options) -> dict:
    status, _, err = run_tool('unlearn.py', config, '--work-dir', work_dir, '--cfg-options',
                              f'task.dataset.root={data}', f'checkpoint_dir={checkpoints}', *SUBSET, *options)
    assert status == 0, err
    return json.loads((next(work_dir.iterdir()) / 'metrics.json').read_text())


def test_neural_cleanse_finds_the_target_and_delete_erases_most_of_the_backdoor(
        prepared_cifar10, checkpoints, tmp_path):
    scan = ('recovery.steps=20', 'recovery.images_per_step=500')
    m = unlearn(CONFIG, prepared_cifar10, checkpoints, tmp_path / 'runs', *scan)
    original, recovery = m['original'], m['recovery']
    assert original['asr'] >= 90, 'the backdoor must work on the original before its removal can be tested'
    assert recovery['target_name'] == 'airplane', "Neural Cleanse's smallest mask is the target's"
    assert original['recovered_asr'] >= 90, 'the recovered trigger fires the backdoor'
    assert m['recovered_asr'] <= 0.3 * original['recovered_asr'], 'DELETE erases what the recovered trigger does'
    assert m['asr'] <= 0.6 * original['asr'], 'and most of what the true trigger does'
    assert m['clean_acc'] >= original['clean_acc'] - 2
    assert m['retrain'] is None, 'no oracle was trained'


def test_with_the_attacks_own_trigger_delete_erases_the_backdoor(prepared_cifar10, checkpoints, tmp_path):
    config = tmp_path / 'known_trigger.py'
    config.write_text(f"_base_ = ['{CONFIG}']\nrecovery = dict(_delete_=True, type='KnownTrigger')\n")
    m = unlearn(config, prepared_cifar10, checkpoints, tmp_path / 'runs')
    assert m['original']['asr'] >= 90
    assert m['asr'] <= 10, 'the upper bound: the true trigger in the forget set removes the backdoor'
    assert m['clean_acc'] >= m['original']['clean_acc'] - 2
