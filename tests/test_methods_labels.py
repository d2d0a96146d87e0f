"""The defining property of each baseline that trains toward other labels or away from the true ones:
Random Label, Negative Gradient, Finetune, Boundary Shrink, Boundary Expand and L2UL (tiny CNN, digits)."""
import copy

import torch
import torch.nn.functional as F
from torch import nn

from method_helpers import (FORGET, digits_task, first_batch, forget_batch, method_data,  # noqa: F401
                            one_thread, sgd_steps, trained_network, true_labels, wrapper)
from unlearn.methods import L2UL, BoundaryExpand, BoundaryShrink, Finetune, NegativeGradient, RandomLabel
from unlearn.methods.attacks import PixelSpace, fgsm, l2_pgd_targeted


def _relabelled(method, seed=0):
    dataset = method.phases(method_data(method, seed=seed))[0].dataset
    return [int(dataset[i][1]) for i in range(len(dataset))]


def test_random_labels_are_drawn_once_per_sample_uniformly_over_all_classes():
    method = RandomLabel()
    labels = _relabelled(method)
    assert labels == _relabelled(method), 'fixed for the run: reading the data again gives the same labels'
    assert labels != _relabelled(method, seed=1), 'drawn from the run seed'
    assert len(set(labels)) == 10, 'uniform over all K classes'
    assert 0 < labels.count(FORGET[0]) < len(labels) / 4, 'the true class is one of the K (SPEC.md §7.11)'
    different = _relabelled(RandomLabel(exclude_true_label=True))
    assert FORGET[0] not in different and len(set(different)) == 9


def test_random_label_trains_cross_entropy_to_the_random_labels():
    method = RandomLabel()
    model = wrapper(method)
    batch = first_batch(method.phases(method_data(method))[0].dataset)
    assert (batch[1] != FORGET[0]).any()
    model.train()
    expected = F.cross_entropy(model.student(batch[0]), batch[1])
    assert torch.allclose(model(*batch, mode='loss')['loss_ce'], expected)


def test_negative_gradient_ascends_the_forget_loss():
    model = wrapper(NegativeGradient())
    batch = forget_batch()
    model.eval()
    before = F.cross_entropy(model.student(batch[0]), batch[1])
    model.train()
    assert torch.allclose(model(*batch, mode='loss')['loss_neg_ce'], -F.cross_entropy(model.student(batch[0]),
                                                                                       batch[1]))
    sgd_steps(model, [batch] * 3, lr=0.01)
    model.eval()
    assert F.cross_entropy(model.student(batch[0]), batch[1]) > before * 2


def test_finetune_trains_on_the_remaining_data_with_true_labels():
    method = Finetune()
    assert method.uses_remain_data and not method.applies_disable_bn, 'a grey row; disable_bn never applies'
    [phase] = method.phases(method_data(method))
    assert FORGET[0] not in true_labels(phase.dataset) and len(true_labels(phase.dataset)) == 9


def test_boundary_shrink_labels_are_the_attacks_neighbour_classes():
    method = BoundaryShrink(eps=0.1)
    model = wrapper(method)
    task = digits_task()
    x, y = forget_batch(64)
    space = PixelSpace(*task.pixel_normalization(), like=x)
    adversarial = fgsm(model.teacher, x, y, 0.1, space)
    delta = space.to_pixels(adversarial) - space.to_pixels(x)
    assert delta.abs().max() <= 0.1 + 1 / 255 + 1e-5, 'eps bounds the step in the dataset\'s own pixel space'
    pixels = space.to_pixels(adversarial)
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
    assert torch.allclose(pixels * 255, (pixels * 255).round(), atol=1e-3), '8-bit levels'
    with torch.no_grad():
        neighbour = model.teacher(adversarial).argmax(1)
    assert (neighbour != y).any(), 'the attack moves some samples across a boundary'
    model.train()
    losses = model(x, y, mode='loss')
    assert torch.allclose(losses['loss_ce'], F.cross_entropy(model.student(x), neighbour))
    assert torch.isclose(losses['attack_success'], (neighbour != y).float().mean())


def test_boundary_expand_returns_a_k_way_model_whose_rows_came_from_the_training():
    method = BoundaryExpand()
    model = wrapper(method)
    original_fc = copy.deepcopy(model.student.fc)
    method.setup(model, method_data(method))
    fc = model.student.fc
    assert fc.out_features == 11 and torch.equal(fc.weight[:10], original_fc.weight)
    batch = forget_batch()
    model.eval()
    assert model.student(batch[0]).shape[1] == 10, 'evaluation drops the shadow logit'
    sgd_steps(model, [batch] * 5)
    model.train()
    assert (model.student(batch[0]).argmax(1) == 10).float().mean() > 0.5, 'forget samples go to the shadow class'
    trained_rows = fc.weight[:10].detach().clone()
    method.finalize(model)
    pruned = model.student.fc
    assert type(pruned) is nn.Linear and pruned.out_features == 10
    assert torch.equal(pruned.weight, trained_rows) and not torch.equal(pruned.weight, original_fc.weight)
    trained_network().load_state_dict(model.student.state_dict())  # a plain K-way checkpoint


def test_boundary_expand_keeps_a_frozen_classifier_frozen():
    method = BoundaryExpand()
    model = wrapper(method, freeze_classifier=True)
    method.setup(model, method_data(method))
    assert not any(p.requires_grad for p in model.student.fc.parameters())
    original = model.student.fc.weight.detach().clone()
    sgd_steps(model, [forget_batch()] * 2)
    method.finalize(model)
    assert torch.equal(model.student.fc.weight, original[:10]) and not model.student.fc.weight.requires_grad


def test_l2_pgd_is_targeted_and_bounded_in_pixel_space():
    task = digits_task()
    teacher = trained_network().eval().requires_grad_(False)
    x, _ = forget_batch(64)
    targets = torch.full((64,), 7)
    space = PixelSpace(*task.pixel_normalization(), like=x)
    torch.manual_seed(0)
    pixels = l2_pgd_targeted(lambda p: teacher(space.to_inputs(p)), space.to_pixels(x), targets,
                             eps=2.0, eps_iter=0.5, nb_iter=10)
    assert (pixels - space.to_pixels(x)).flatten(1).norm(dim=1).max() <= 2.0 + 1e-4
    assert pixels.min() >= 0 and pixels.max() <= 1
    with torch.no_grad():
        hit = (teacher(space.to_inputs(pixels)).argmax(1) == 7).float().mean()
        before = (teacher(x).argmax(1) == 7).float().mean()
    assert hit > before + 0.3, 'the steps go toward the target class'


def test_l2ul_default_reproduces_the_ports_clip_of_normalised_inputs():
    x, _ = forget_batch(8)
    assert (x < 0).any()
    adversarial = l2_pgd_targeted(lambda v: trained_network().eval()(v), x, torch.zeros(8, dtype=torch.long),
                                  eps=0.4, eps_iter=0.1, nb_iter=2)
    assert adversarial.min() >= 0, 'advertorch clips the normalised tensor to [0, 1] (SPEC.md §7.8)'


def test_l2ul_loss_ascends_forget_and_learns_adversarial_targets():
    method = L2UL()
    model = wrapper(method)
    model.train()
    losses = model(*forget_batch(), mode='loss')
    assert set(losses) == {'loss_neg_ce', 'loss_adv'} and losses['loss_neg_ce'] < 0
    assert model.student.training, 'the eval-mode adversarial pass must not leave the student in eval mode'


def test_l2ul_importance_regulariser_is_zero_at_the_original_and_grows_away_from_it():
    method = L2UL(reg_lambda=1.0)
    model = wrapper(method)
    method.setup(model, method_data(method))
    for imp in method.importance.values():
        assert imp.min() >= 0 and imp.max() <= 1 and torch.isclose(imp.max(), torch.tensor(1.0))
    model.train()
    batch = forget_batch()
    assert model(*batch, mode='loss')['loss_reg'] == 0
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(0.01)
    assert model(*batch, mode='loss')['loss_reg'] > 0
