"""The one-shot weight edits, Fisher Forgetting and Influence Unlearning: they touch only trainable weights,
leave no NaN, read only the data they declare, and Influence's default is one gradient-ascent step."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from method_helpers import (FORGET, digits_request, digits_task, method_data, one_thread, run,  # noqa: F401
                            true_labels, wrapper)
from tasks.classification.evaluator import ClassificationEvaluator
from unlearn.methods import FisherForgetting, InfluenceUnlearn


def _edit(method, tmp_path, freeze_classifier=True, remain_size=96):
    model = wrapper(method, freeze_classifier=freeze_classifier)
    before = copy.deepcopy(model.student.state_dict())
    run(model, method_data(method, batch_size=32, remain_size=remain_size), tmp_path)
    return model, before


def _check_only_trainable_weights_moved(model, before):
    after = model.student.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point()), 'no NaN or inf'
    trainable = {name for name, p in model.student.named_parameters() if p.requires_grad}
    for name, value in after.items():
        if name in trainable:
            continue
        assert torch.equal(value, before[name]), f'{name} is frozen or a buffer and must not change'
    assert any(not torch.equal(after[name], before[name]) for name in trainable)


@pytest.mark.parametrize('method', [FisherForgetting(), InfluenceUnlearn(),
                                    InfluenceUnlearn(use_remain_data=True, woodfisher_samples=20)],
                         ids=['fisher', 'influence', 'woodfisher'])
def test_edits_touch_only_trainable_weights_and_leave_no_nan(method, tmp_path):
    assert not method.trains
    model, before = _edit(method, tmp_path)
    assert not model.student.fc.weight.requires_grad
    _check_only_trainable_weights_moved(model, before)


def test_edits_read_only_the_data_they_declare(recorded_datasets):
    for method, expected in ((FisherForgetting(), 'remain'), (InfluenceUnlearn(), 'forget')):
        recorded_datasets.clear()
        model = wrapper(method)
        model.eval()
        method.edit(model, method_data(method, remain_size=64))
        labels = set().union(*(true_labels(d) for d in recorded_datasets))
        assert (labels == set(FORGET)) if expected == 'forget' else labels and FORGET[0] not in labels


def test_influence_default_is_one_gradient_ascent_step_on_the_mean_forget_loss():
    method = InfluenceUnlearn(alpha=0.2)
    model = wrapper(method)
    data = method_data(method, batch_size=50)
    data.forget = Subset(digits_task().data.train_eval, data.forget.indices)  # un-augmented: reproducible
    student = copy.deepcopy(model.student).eval()
    x, y = next(iter(DataLoader(data.forget, batch_size=len(data.forget))))
    grads = torch.autograd.grad(F.cross_entropy(student(x), y), list(student.parameters()))
    model.eval()
    method.edit(model, data)
    for p, p0, g in zip(model.student.parameters(), student.parameters(), grads):
        assert torch.allclose(p, p0 + 0.2 * g, atol=1e-6)


def test_fisher_noise_follows_the_inverse_fisher_scale(tmp_path):
    tiny, _ = _edit(FisherForgetting(alpha=1e-8), tmp_path / 'tiny', freeze_classifier=False)
    large, before = _edit(FisherForgetting(alpha=0.2), tmp_path / 'large', freeze_classifier=False)
    drift = {name: (large.student.state_dict()[name] - before[name]).abs().mean() for name in before
             if name.endswith('weight')}
    tiny_drift = {name: (tiny.student.state_dict()[name] - before[name]).abs().mean() for name in drift}
    assert all(tiny_drift[name] < drift[name] * 1e-2 for name in drift), 'noise scales with sqrt(alpha)'


def test_fisher_can_reset_the_forget_rows_as_upstream_fisher_new(tmp_path):
    model, before = _edit(FisherForgetting(alpha=1e-8, zero_forget_rows=True), tmp_path, freeze_classifier=False)
    fc = model.student.fc
    assert fc.weight[FORGET[0]].abs().max() < 0.2 and before['fc.weight'][FORGET[0]].abs().max() > 0.2
    others = [c for c in range(10) if c != FORGET[0]]
    assert torch.allclose(fc.weight[others], before['fc.weight'][others], atol=0.02)


def test_a_diverged_edit_is_scored_not_a_crash(tmp_path):
    """Fisher's noise at a large alpha overflows the network (as the official alpha 0.2 does to the CPU
    CIFAR-10 ResNet-20): evaluation still gives the run's row, with the NaN outputs counted as wrong and no
    MIA, instead of failing in the attack after the whole edit."""
    evaluator, splits = ClassificationEvaluator(digits_task()), digits_request()
    model, _ = _edit(FisherForgetting(alpha=1e30), tmp_path, freeze_classifier=False)
    metrics = evaluator.evaluate(model.student, splits, original=dict(acc_ft=95.0))
    evaluated = len(splits.train_forget_eval) + len(splits.train_remain_eval) + len(splits.test)
    assert 0 < metrics['non_finite_outputs'] <= evaluated
    assert metrics['acc_rt'] < 20 and metrics['h_mean'] < 35
    assert metrics['mia'] is None and metrics['mia_all'] == dict.fromkeys(metrics['mia_all'])
    assert 'NaN or infinite' in evaluator.facts({'run': metrics})['Diverged']
    healthy = evaluator.evaluate(wrapper(FisherForgetting()).student, splits, original=dict(acc_ft=95.0))
    assert healthy['non_finite_outputs'] == 0 and healthy['mia'] is not None and healthy['acc_rt'] > 90
