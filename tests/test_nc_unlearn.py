"""NCUnlearn, Neural Cleanse's patching by unlearning: a fixed fifth of the defender's images carries the recovered
trigger and every image keeps its true label; it runs on the backdoor task only, and lowers the digits backdoor."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool
from method_helpers import MODEL_CFG, digits_task, one_thread  # noqa: F401
from tasks.backdoor.adapter import Recovery
from tasks.backdoor.methods import NCUnlearn
from tasks.backdoor.recovery import RecoveredTriggers, mad_detection
from tasks.backdoor.triggers import badnet_trigger
from unlearn.apis.experiment import load_experiment
from unlearn.errors import UnlearnError
from unlearn.methods.attacks import PixelSpace
from unlearn.methods.base import MethodData

CONFIG = REPO / 'configs' / 'backdoor' / 'digits_badnet_forget_backdoor.py'
#: The recovered trigger: a white 3x3 patch in the top-left corner, away from the attack's bottom-right one.
TRIGGER = badnet_trigger(image_size=8, channels=1, size=3, position='top_left', pattern='white')


@pytest.fixture(scope='module')
def experiment():
    return load_experiment(Config.fromfile(str(CONFIG)))


def _recovered(request):
    """``request`` as if the recovery had found TRIGGER for its target."""
    [target] = request.forget_classes
    triggers = RecoveredTriggers(np.array([target]), TRIGGER.mask[None], TRIGGER.pattern[None], np.array([100.0]),
                                 np.array([1]), mad_detection([TRIGGER.l1_norm], [target]))
    return dataclasses.replace(request, recovery=Recovery(triggers, seconds=0.0, cached=False))


def _phase(experiment, request, method=None, seed=0):
    method = method or NCUnlearn()
    data = MethodData.for_method(method, experiment.task, request, batch_size=32, seed=seed)
    [phase] = method.phases(data)
    return phase.dataset, data


def test_a_fixed_fifth_is_stamped_with_the_recovered_trigger_and_every_label_is_true(experiment):
    request = _recovered(experiment.request)
    dataset, _ = _phase(experiment, request)
    remain = request.train_remain
    assert len(dataset) == len(remain) and len(dataset.stamped) == round(0.2 * len(remain))
    assert dataset.stamped == _phase(experiment, request)[0].stamped, 'a fixed draw for the run'
    assert dataset.stamped != _phase(experiment, request, seed=1)[0].stamped, 'drawn from the run seed'
    space = PixelSpace(*experiment.task.pixel_normalization(), like=torch.empty(1, 1, 1, 1))
    for i in range(len(dataset)):
        torch.manual_seed(i)
        image, label = dataset[i]
        torch.manual_seed(i)
        clean, true_label = remain[i]  # the same augmentation
        assert label == true_label
        expected = TRIGGER.stamp_tensor(space.to_pixels(clean[None])) if i in dataset.stamped else clean[None]
        got = space.to_pixels(image[None]) if i in dataset.stamped else image[None]
        assert torch.allclose(got, expected, atol=1e-5), f'item {i}'
    patch = space.to_pixels(torch.stack([dataset[i][0] for i in sorted(dataset.stamped)]))[:, :, :3, :3]
    assert torch.allclose(patch, torch.ones_like(patch), atol=1e-5), 'the stamped ones show the white patch'


def test_the_provisional_request_builds_unstamped_but_does_not_train(experiment):
    assert experiment.request.recovery is None
    dataset, data = _phase(experiment, experiment.request)
    assert len(dataset.stamped) == round(0.2 * len(dataset)) and dataset.triggered.trigger is None
    with pytest.raises(UnlearnError, match='without a recovered trigger'):
        NCUnlearn().setup(None, data)


def test_only_a_backdoor_task_is_accepted(experiment):
    network = digits_task().build_network(MODEL_CFG)
    NCUnlearn().check(experiment.task, network)
    with pytest.raises(UnlearnError, match='the ClassificationTask task has none: use it on a BackdoorTask'):
        NCUnlearn().check(digits_task(), network)
    assert NCUnlearn().table_name == 'NCUnlearn (R)'


def test_ncunlearn_lowers_the_digits_backdoor_and_keeps_the_target_class(tmp_path, digits_backdoor_run):
    """The CLI on the digits default, from the session's cached original and oracle. How far the ASR falls depends
    on which fifth is stamped: over 9 runs (docs/results.md, "Backdoor defense on the digits default") it fell
    from 87.65-100.00 to 1.23-81.48, at least 18 points each time, and the target's own accuracy stayed >= 91.67
    (DELETE's: 16.67 at 2x2)."""
    _, checkpoints = digits_backdoor_run
    status, _, err = run_tool('unlearn.py', CONFIG, '--work-dir', tmp_path / 'runs', '--cfg-options',
                              'method._delete_=True', 'method.type=NCUnlearn', f'checkpoint_dir={checkpoints}')
    assert status == 0, err
    [run_dir] = (tmp_path / 'runs').iterdir()
    metrics = json.loads((run_dir / 'metrics.json').read_text())
    assert metrics['original']['asr'] >= 90 and metrics['asr'] <= metrics['original']['asr'] - 10
    assert metrics['clean_acc'] >= 90 and metrics['clean_acc_target'] >= 80
