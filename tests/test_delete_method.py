"""DELETE's defining properties inside the mmengine wrapper, on a tiny CNN and real digits batches."""
import copy
import itertools

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from tasks.classification.adapter import ClassificationTask
from unlearn.apis import freeze_classifier
from unlearn.losses import delete_loss
from unlearn.methods import DELETE
from unlearn.model import UnlearnModel


@pytest.fixture(scope='module')
def task():
    return ClassificationTask(dataset=dict(type='Digits'))


def _request(task, forget=(3,)):
    return task.forget_request(Config(dict(forget_classes=list(forget))))


def _forget_batch(task, forget=(3,), n=16):
    loader = torch.utils.data.DataLoader(_request(task, forget).train_forget, batch_size=n, shuffle=False)
    return next(iter(loader))


def _wrapper(task, method=None, forget=(3,), **kwargs):
    torch.manual_seed(0)
    student = task.build_network(dict(type='DigitsCNN'))
    return UnlearnModel(student, task, method or DELETE(), _request(task, forget), **kwargs)


def _steps(model, batch, n=3, lr=0.1):
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
    model.train()
    for _ in range(n):
        model.train_step(list(batch), optim)


def test_loss_is_delete_loss_with_own_label_erased(task):
    model = _wrapper(task)
    batch = _forget_batch(task)
    model.train()
    loss = model(*batch, mode='loss')['loss_delete']
    with torch.no_grad():
        teacher = model.teacher(batch[0])
    expected = delete_loss(model.student(batch[0]), teacher, torch.nn.functional.one_hot(batch[1], 10).bool())
    assert torch.allclose(loss, expected)


def test_mask_all_forget_classes_erases_every_forget_class_for_every_sample(task):
    batch = _forget_batch(task, forget=(3, 5))
    request = _request(task, (3, 5))
    own = task.erase_mask(batch, request)
    every = task.erase_mask(batch, request, all_forget_classes=True)
    assert (own.sum(1) == 1).all() and own[torch.arange(len(batch[1])), batch[1]].all()
    assert every[:, 3].all() and every[:, 5].all() and every.sum(1).eq(2).all()


def test_teacher_is_frozen_and_stays_in_eval_mode(task):
    model = _wrapper(task)
    before = copy.deepcopy(model.teacher.state_dict())
    _steps(model, _forget_batch(task))
    assert not model.teacher.training and model.student.training
    assert all(torch.equal(before[k], v) for k, v in model.teacher.state_dict().items())
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_training_pushes_the_forget_class_down(task):
    model = _wrapper(task)
    batch = _forget_batch(task)
    model.eval()
    with torch.no_grad():
        before = torch.softmax(model.student(batch[0]), 1)[:, 3].mean()
    _steps(model, batch, n=10)
    model.eval()
    with torch.no_grad():
        after = torch.softmax(model.student(batch[0]), 1)[:, 3].mean()
    assert after < before * 0.5


def test_disable_bn_keeps_running_statistics(task):
    model = _wrapper(task, disable_bn=True)
    bn = [m for m in model.student.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stats = [(m.running_mean.clone(), m.running_var.clone(), m.weight.clone()) for m in bn]
    _steps(model, _forget_batch(task))
    assert all(not m.training for m in bn)
    assert all(torch.equal(m.running_mean, s[0]) and torch.equal(m.running_var, s[1]) for m, s in zip(bn, stats))
    assert any(not torch.equal(m.weight, s[2]) for m, s in zip(bn, stats)), 'BN affine weights still train'


def test_freeze_classifier_keeps_fc_fixed(task):
    model = _wrapper(task)
    freeze_classifier(task, model.student)
    fc = copy.deepcopy(model.student.fc.state_dict())
    conv = model.student.state_dict()
    first_conv = next(k for k in conv if 'weight' in k and conv[k].dim() == 4)
    conv_before = conv[first_conv].clone()
    _steps(model, _forget_batch(task))
    assert all(torch.equal(fc[k], v) for k, v in model.student.fc.state_dict().items())
    assert not torch.equal(model.student.state_dict()[first_conv], conv_before)


@pytest.mark.parametrize('kwargs', [dict(alpha=2.0), dict(temperature=0)])
def test_bad_hyper_parameters(kwargs):
    with pytest.raises(ValueError):
        DELETE(**kwargs)


def test_remain_weight_adds_a_pass_that_distils_the_teacher_with_nothing_erased(task):
    """DELETE (R): on the remain phase the target is the teacher's own softmax, the forget class included (a
    remaining image of a class the forget set lacks keeps it), scaled by ``remain_weight``; forget-only by default."""
    from unlearn.methods.base import MethodData
    assert not DELETE().uses_remain_data and DELETE().table_name == 'DELETE'
    method = DELETE(remain_weight=0.5)
    assert method.uses_remain_data and method.table_name == 'DELETE (R)'
    request = _request(task)
    data = MethodData.for_method(method, task, request, batch_size=16, seed=0)
    phases = [(p.name, p.dataset) for p in method.phases(data)]
    assert phases == [('forget', request.train_forget), ('remain', request.train_remain)]
    model = _wrapper(task, method=method)
    remain = next(iter(torch.utils.data.DataLoader(request.train_remain, batch_size=64, shuffle=False)))
    assert (remain[1] == 3).sum() == 0, 'the remaining data of a class-forgetting request lacks the class'
    batch = [torch.cat([remain[0], _forget_batch(task)[0]]), torch.cat([remain[1], _forget_batch(task)[1]])]
    model.train()
    model.phase = 'remain'
    loss = model(*batch, mode='loss')['loss_remain']
    with torch.no_grad():
        teacher = model.teacher(batch[0])
    student = model.student(batch[0])
    kl = torch.nn.functional.kl_div(torch.log_softmax(student, 1), torch.softmax(teacher, 1), reduction='batchmean')
    assert torch.allclose(loss, 0.5 * kl, atol=1e-6)
    with pytest.raises(ValueError, match='remain_weight'):
        DELETE(remain_weight=-1)


@pytest.mark.parametrize('frozen', [False, True])
def test_remain_frozen_bn_trains_the_remain_pass_without_touching_batch_norm_statistics(task, tmp_path, frozen):
    """With ``remain_frozen_bn`` the remain pass runs BatchNorm in eval mode (normalising with, and leaving, the
    running statistics of the forget pass), while the forget pass still trains it; without it both passes do.
    Run by the real epoch loop, two epochs, with a spy on the first BatchNorm."""
    from method_helpers import method_data, run, wrapper
    method = DELETE(remain_weight=1.0, remain_frozen_bn=frozen)
    model = wrapper(method)
    bn = next(m for m in model.student.modules() if isinstance(m, torch.nn.BatchNorm2d))
    calls = []
    bn.register_forward_hook(lambda module, inputs, output: calls.append(
        (model.phase, module.training, module.running_mean.clone())))
    run(model, method_data(method, remain_size=64), tmp_path, max_epochs=2)
    assert [phase for phase, _, _ in calls if phase == 'forget'] and all(
        training for phase, training, _ in calls if phase == 'forget')
    passes = [list(group) for phase, group in itertools.groupby(calls, key=lambda call: call[0])
              if phase == 'remain']
    assert len(passes) == 2 and all(len(p) == 2 for p in passes)  # 64 remaining images in batches of 32
    for remain_pass in passes:
        assert all(training is not frozen for _, training, _ in remain_pass)
        before, after = remain_pass[0][2], remain_pass[-1][2]
        assert torch.equal(before, after) is frozen, 'the remain pass updates the statistics unless frozen'
    assert not torch.equal(passes[0][0][2], passes[1][0][2]), "the forget pass between them moved the statistics"
    with pytest.raises(ValueError, match='remain_weight > 0'):
        DELETE(remain_frozen_bn=True)
