"""Negative Gradient bounded (``until_forgotten=True``): a sample no longer predicted as its forget label gives no
gradient, the rest give plain ascent's gradient averaged over the whole batch; the default is plain ascent."""
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from method_helpers import forget_batch, one_thread, wrapper  # noqa: F401
from unlearn.methods import NegativeGradient
from unlearn.tensor_task import TensorTask

K = 3


def _tiny(seed: int = 0):
    """A linear classifier on 2-d inputs and a batch of 8 (both fixed by ``seed``), with its predictions."""
    torch.manual_seed(seed)
    network = nn.Linear(2, K)
    inputs = torch.randn(8, 2)
    with torch.no_grad():
        predicted = network(inputs).argmax(1)
    return network, inputs, predicted


def _gradients(method, network, batch, task=None) -> list:
    network.zero_grad()
    model = SimpleNamespace(task=task or TensorTask([str(k) for k in range(K)]), student=network)
    method.loss(model, batch)['loss_neg_ce'].backward()
    return [p.grad.clone() for p in network.parameters()]


def test_a_batch_with_every_sample_forgotten_gives_no_gradient():
    network, inputs, predicted = _tiny()
    forgotten = (predicted + 1) % K  # labels the network predicts for none of the samples
    gradients = _gradients(NegativeGradient(until_forgotten=True), network, [inputs, forgotten])
    assert all(torch.equal(g, torch.zeros_like(g)) for g in gradients)
    plain = _gradients(NegativeGradient(), network, [inputs, forgotten])
    assert all(g.abs().sum() > 0 for g in plain), 'plain ascent keeps pushing them'


def test_the_still_predicted_samples_give_plain_ascents_gradient_over_the_whole_batch():
    network, inputs, predicted = _tiny()
    still = torch.arange(len(inputs)) % 2 == 0
    labels = torch.where(still, predicted, (predicted + 1) % K)
    gradients = _gradients(NegativeGradient(until_forgotten=True), network, [inputs, labels])
    network.zero_grad()
    expected = -F.cross_entropy(network(inputs[still]), labels[still], reduction='sum') / len(inputs)
    expected.backward()
    for got, want in zip(gradients, (p.grad for p in network.parameters())):
        assert got.abs().sum() > 0 and torch.allclose(got, want, atol=1e-7)


def test_forgotten_pixels_and_void_pixels_give_no_gradient_on_segmentation_maps():
    """Per pixel: the sum over still-predicted pixels is divided by the number of valid (non-void) pixels."""
    class MapTask(TensorTask):
        def valid_mask(self, batch):
            return batch[1] != 255

    torch.manual_seed(0)
    network = nn.Conv2d(2, K, kernel_size=1)
    inputs = torch.randn(2, 2, 4, 4)
    with torch.no_grad():
        predicted = network(inputs).argmax(1)
    position = torch.arange(predicted.numel()).view_as(predicted) % 3
    labels = torch.where(position == 0, predicted, (predicted + 1) % K).masked_fill(position == 2, 255)
    gradients = _gradients(NegativeGradient(until_forgotten=True), network, [inputs, labels],
                           MapTask([str(k) for k in range(K)]))
    still, valid = position == 0, position != 2
    network.zero_grad()
    per_pixel = F.cross_entropy(network(inputs), labels.masked_fill(~valid, 0), reduction='none')
    (-per_pixel[still].sum() / valid.sum()).backward()
    for got, want in zip(gradients, (p.grad for p in network.parameters())):
        assert got.abs().sum() > 0 and torch.allclose(got, want, atol=1e-7)


def test_through_the_unlearning_wrapper_on_digits():
    """The trained CNN on a forget batch, half of it relabelled to a class it does not predict."""
    model = wrapper(NegativeGradient(until_forgotten=True))
    x, y = forget_batch()
    model.eval()
    with torch.no_grad():
        predicted = model.student(x).argmax(1)
    labels = torch.where(torch.arange(len(y)) % 2 == 0, y, (predicted + 1) % 10)
    still = predicted == labels
    assert 0 < still.sum() < len(y)
    loss = model(x, labels, mode='loss')['loss_neg_ce']
    with torch.no_grad():
        expected = -F.cross_entropy(model.student(x[still]), labels[still], reduction='sum') / len(y)
    assert torch.allclose(loss, expected)
    plain = wrapper(NegativeGradient())
    plain.eval()
    assert torch.allclose(plain(x, labels, mode='loss')['loss_neg_ce'], -F.cross_entropy(plain.student(x), labels))


def test_the_bounded_variant_has_its_own_table_row():
    assert NegativeGradient().table_name == 'NegativeGradient'
    assert NegativeGradient(until_forgotten=True).table_name == 'NegativeGradient (bounded)'
