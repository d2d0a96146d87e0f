"""The distillation baselines: Bad Teacher pulls forget outputs toward a random network, SCRUB alternates
max steps on forget data with min steps on remaining data."""
import re

import pytest
import torch
import torch.nn.functional as F

from method_helpers import FORGET, digits_task, first_batch, forget_batch, method_data, one_thread, run, sgd_steps, true_labels, wrapper  # noqa: F401,E501
from unlearn.methods import SCRUB, BadTeacher


def _kl(teacher_logits, student_logits):
    return F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1), reduction='batchmean')


def test_bad_teacher_pulls_forget_outputs_toward_the_random_teacher():
    method = BadTeacher()
    model = wrapper(method)
    torch.manual_seed(0)
    method.setup(model, method_data(method))
    bad = model.frozen['bad_teacher']
    assert not bad.training and not any(p.requires_grad for p in bad.parameters())
    x, y = forget_batch(64)
    model.eval()
    with torch.no_grad():
        before = _kl(bad(x), model.student(x))
        accuracy_before = (model.student(x).argmax(1) == y).float().mean()
    sgd_steps(model, [(x, y)] * 10, lr=0.05)
    model.eval()
    with torch.no_grad():
        assert _kl(bad(x), model.student(x)) < before / 2
        assert (model.student(x).argmax(1) == y).float().mean() < accuracy_before
    assert not bad.training, 'the random teacher stays in eval mode'


def test_bad_teacher_with_retain_data_mixes_thirty_percent_under_the_good_teacher():
    method = BadTeacher(retain_fraction=0.3)
    data = method_data(method)
    [phase] = method.phases(data)
    assert method.table_name == 'BadTeacher (R)'
    assert len(phase.dataset) == len(data.forget) + int(0.3 * len(data.remain))
    assert len(true_labels(phase.dataset)) == 10
    model = wrapper(method)
    method.setup(model, data)
    x = torch.cat([forget_batch(4)[0], first_batch(data.remain, 4)[0]])
    y = torch.cat([forget_batch(4)[1], first_batch(data.remain, 4)[1]])
    model.train()
    loss = model(x, y, mode='loss')['loss_kd']
    with torch.no_grad():
        teacher = torch.cat([model.frozen['bad_teacher'](x[:4]), model.teacher(x[4:])])
    assert torch.allclose(loss, _kl(teacher, model.student(x)), atol=1e-6)


def test_forget_only_bad_teacher_never_touches_remaining_data():
    method = BadTeacher()
    data = method_data(method)
    assert not method.uses_remain_data and data._remain is None
    assert true_labels(method.phases(data)[0].dataset) == set(FORGET)


def test_scrub_alternates_max_steps_on_forget_data_and_min_steps_on_remaining_data(tmp_path):
    method = SCRUB(msteps=1)
    model = wrapper(method)
    seen = []
    loss = method.loss

    def recording_loss(model, batch):
        seen.append((model.phase, set(batch[1].tolist())))
        return loss(model, batch)

    method.loss = recording_loss
    run(model, method_data(method, remain_size=64), tmp_path, max_epochs=2, lr=5e-4, batch_size=64)
    phases = [phase for phase, _ in seen]
    n_forget = -(-len(method_data(method).forget) // 64)
    assert phases == ['max'] * n_forget + ['min'] + ['min'], 'epoch 1: max then min; epoch 2: min only'
    assert all(labels == set(FORGET) for phase, labels in seen if phase == 'max')
    assert all(FORGET[0] not in labels for phase, labels in seen if phase == 'min')


def test_scrub_as_its_authors_ran_it_reads_unaugmented_images_in_batches_of_512_and_256(tmp_path):
    """SPEC.md §3.11: the notebook's forget loader has batch 512, the retain loader 256, both augment=False."""
    from mmengine.config import Config

    from conftest import REPO
    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'methods' / 'scrub.py')).method.to_dict()
    cfg.pop('type'), cfg.pop('schedule')
    method = SCRUB(**cfg)
    data = method_data(method, remain_size=600)
    forget, remain = method.phases(data)
    assert (forget.batch_size, remain.batch_size) == (512, 256)
    assert forget.dataset.dataset is remain.dataset.dataset.dataset is digits_task().data.train_eval
    model, sizes = wrapper(method), []
    loss = method.loss

    def recording_loss(model, batch):
        sizes.append((model.phase, len(batch[1])))
        return loss(model, batch)

    method.loss = recording_loss
    run(model, data, tmp_path, max_epochs=1, lr=5e-4, batch_size=32)
    n_forget = len(data.forget)
    assert sizes == [('max', n_forget)] + [('min', 256), ('min', 256), ('min', 600 - 512)]


def test_scrub_refuses_without_unaugmented_images_in_one_line():
    from unlearn.errors import UnlearnError
    method = SCRUB(augment=False)
    data = method_data(method)
    data._forget_clean = None
    with pytest.raises(UnlearnError, match='no training images without augmentation; set the method'):
        method.phases(data)


def test_a_phased_epoch_is_logged_over_all_its_passes(tmp_path):
    """SCRUB's first epoch is a forget pass then a remain pass: the log counts both ("[1][k/n_forget+1]"), not
    the first pass's loader with the index restarting in the second (it used to log "[1][80/40]")."""
    method = SCRUB(msteps=1)
    run(wrapper(method), method_data(method, remain_size=64), tmp_path, max_epochs=2, lr=5e-4, batch_size=64,
        log_interval=1)
    n_forget = -(-len(method_data(method).forget) // 64)
    logged = re.findall(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]', (tmp_path / 'run.log').read_text())
    first = n_forget + 1
    assert [(int(e), int(i), int(n)) for e, i, n in logged] == \
        [(1, i, first) for i in range(1, first + 1)] + [(2, 1, 1)]


def test_scrub_max_step_moves_away_from_the_teacher_and_min_step_is_weighted_ce_plus_kd():
    method = SCRUB()
    model = wrapper(method)
    x, y = forget_batch(64)
    model.eval()
    model.phase = 'max'
    assert abs(model(x, y, mode='loss')['loss_max_kd']) < 1e-6, 'the student starts as the teacher'
    sgd_steps(model, [(x, y)] * 3, lr=0.05)
    model.eval()
    with torch.no_grad():
        assert _kl(model.teacher(x), model.student(x)) > 0.01
    model.train()
    model.phase = 'min'
    losses = model(x, y, mode='loss')
    student = model.student(x)
    with torch.no_grad():
        kd = F.kl_div(F.log_softmax(student / 4, 1), F.softmax(model.teacher(x) / 4, 1), reduction='batchmean') * 16
    assert torch.allclose(losses['loss_ce'], 0.99 * F.cross_entropy(student, y))
    assert torch.allclose(losses['loss_kd'], 0.001 * kd, atol=1e-7)
