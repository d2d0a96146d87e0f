"""The DELETE loss against the official formula, the paper's decomposition and its gradient."""
import pytest
import torch
import torch.nn.functional as F

from unlearn.losses import delete_loss, masked_teacher_target


def _logits(*shape, seed=0, scale=3.0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _own_label_mask(labels, num_classes):
    return F.one_hot(labels, num_classes).bool()


def test_equals_official_formula():
    """SPEC.md §1.3: teacher logit := -1e10 by assignment, KLDivLoss(batchmean) on log_softmax."""
    s, z = _logits(16, 10, seed=1).float(), _logits(16, 10, seed=2).float()
    y = torch.randint(0, 10, (16,), generator=torch.Generator().manual_seed(3))
    z_official = z.clone()
    z_official[torch.arange(16), y] = -1e10
    official = torch.nn.KLDivLoss(reduction='batchmean')(F.log_softmax(s, dim=1), F.softmax(z_official, dim=1))
    ours = delete_loss(s, z, _own_label_mask(y, 10))
    assert torch.allclose(ours, official, atol=1e-6)


def test_equals_forgetting_plus_weighted_retention_of_eq2():
    """Paper Eq. 2: KL(p||q) = KL([p_u, p_\\u] || [q_u, q_\\u]) + p_\\u * KL(p_hat || q_hat)."""
    s, z = _logits(32, 7, seed=4), _logits(32, 7, seed=5)
    y = torch.randint(0, 7, (32,), generator=torch.Generator().manual_seed(6))
    mask = _own_label_mask(y, 7)
    for alpha in (0.0, 0.3):
        p = masked_teacher_target(z, mask, alpha=alpha)
        q = F.softmax(s, dim=1)
        p_u, q_u = (p * mask).sum(1), (q * mask).sum(1)
        p_rest, q_rest = 1 - p_u, 1 - q_u
        binary = torch.xlogy(p_u, p_u) - p_u * torch.log(q_u) + torch.xlogy(p_rest, p_rest) - p_rest * torch.log(q_rest)
        p_hat = (p * ~mask) / p_rest[:, None]
        q_hat = (q * ~mask) / q_rest[:, None]
        retention = (torch.xlogy(p_hat, p_hat) - torch.xlogy(p_hat, q_hat)).sum(1)
        expected = (binary + p_rest * retention).mean()
        assert torch.allclose(delete_loss(s, z, mask, alpha=alpha), expected, atol=1e-9)


def test_mask_before_softmax_equals_renormalised_mask_after():
    """SPEC.md §1.2: softmax(Mask'_u(z)) == Normalize(Mask_u(softmax(z)))."""
    z = _logits(8, 5, seed=7)
    mask = torch.zeros(8, 5, dtype=torch.bool)
    mask[:, 2] = True
    mask[0, 4] = True  # a row with two erased classes
    after = F.softmax(z, dim=1) * ~mask
    after = after / after.sum(1, keepdim=True)
    assert torch.allclose(masked_teacher_target(z, mask).double(), after, atol=1e-7)
    assert (masked_teacher_target(z, mask)[mask] == 0).all()


def test_gradient_is_q_minus_p():
    s = _logits(6, 4, seed=8).float().requires_grad_(True)
    z = _logits(6, 4, seed=9).float()
    mask = _own_label_mask(torch.tensor([0, 1, 2, 3, 0, 1]), 4)
    delete_loss(s, z, mask).backward()
    expected = (F.softmax(s.detach(), 1) - masked_teacher_target(z, mask)) / 6
    assert torch.allclose(s.grad, expected, atol=1e-7)
    assert (s.grad[mask] > 0).all(), 'the erased logit must always be pushed down'


def test_per_pixel_equals_flattened_per_position():
    s, z = _logits(2, 5, 3, 4, seed=10).float(), _logits(2, 5, 3, 4, seed=11).float()
    erase = torch.zeros(1, 5, 1, 1, dtype=torch.bool)
    erase[0, 3] = True  # forget class 3 at every pixel
    flat_s = s.permute(0, 2, 3, 1).reshape(-1, 5)
    flat_z = z.permute(0, 2, 3, 1).reshape(-1, 5)
    flat_erase = erase.reshape(1, 5).expand(flat_s.shape[0], 5)
    assert torch.allclose(delete_loss(s, z, erase), delete_loss(flat_s, flat_z, flat_erase), atol=1e-6)


def test_invalid_pixels_contribute_nothing():
    s, z = _logits(2, 4, 3, 3, seed=12).float(), _logits(2, 4, 3, 3, seed=13).float()
    erase = torch.tensor([False, True, False, False]).view(1, 4, 1, 1)
    valid = torch.rand(2, 3, 3, generator=torch.Generator().manual_seed(14)) > 0.4
    s_changed = s.clone()
    s_changed.permute(0, 2, 3, 1)[~valid] = 100.0  # garbage where the label is void
    loss = delete_loss(s, z, erase, valid_mask=valid)
    assert torch.allclose(loss, delete_loss(s_changed, z, erase, valid_mask=valid))
    kept_s = s.permute(0, 2, 3, 1)[valid]
    kept_z = z.permute(0, 2, 3, 1)[valid]
    assert torch.allclose(loss, delete_loss(kept_s, kept_z, erase.view(1, 4).expand_as(kept_s)), atol=1e-6)


def test_all_void_batch_gives_zero_with_gradient():
    s = _logits(1, 3, 2, 2).float().requires_grad_(True)
    loss = delete_loss(s, _logits(1, 3, 2, 2, seed=1).float(), torch.tensor([True, False, False]).view(1, 3, 1, 1),
                       valid_mask=torch.zeros(1, 2, 2, dtype=torch.bool))
    loss.backward()
    assert loss.item() == 0.0 and s.grad.abs().sum() == 0


def test_every_class_erased_raises_clear_error():
    with pytest.raises(ValueError, match='every class erased'):
        delete_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.bool))


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_is_finite_and_matches_fp32(dtype):
    s, z = _logits(8, 10, seed=15, scale=20).float(), _logits(8, 10, seed=16, scale=20).float()
    mask = _own_label_mask(torch.arange(8) % 10, 10)
    half = delete_loss(s.to(dtype), z.to(dtype), mask)
    assert torch.isfinite(half)
    assert torch.allclose(half, delete_loss(s.to(dtype).float(), z.to(dtype).float(), mask), atol=1e-4)


def test_alpha_keeps_alpha_times_teacher_forget_probability():
    """SPEC.md §1.9 reconstruction: p_u = alpha * sigma_u, others share the rest in the teacher's ratios."""
    z = _logits(4, 6, seed=17)
    mask = _own_label_mask(torch.tensor([0, 2, 4, 5]), 6)
    sigma = F.softmax(z, 1)
    p = masked_teacher_target(z, mask, alpha=0.25)
    assert torch.allclose(p[mask], 0.25 * sigma[mask])
    assert torch.allclose(p.sum(1), torch.ones(4, dtype=p.dtype))
    rest = p * ~mask
    assert torch.allclose(rest / rest.sum(1, keepdim=True), masked_teacher_target(z, mask))


def test_temperature_flattens_teacher_only():
    z = _logits(4, 6, seed=18)
    mask = _own_label_mask(torch.tensor([1, 1, 1, 1]), 6)
    expected = F.softmax((z / 5).masked_fill(mask, float('-inf')), 1)
    assert torch.allclose(masked_teacher_target(z, mask, temperature=5.0).double(), expected, atol=1e-7)
    s = _logits(4, 6, seed=19)
    manual = (torch.xlogy(expected, expected) - expected * F.log_softmax(s, 1)).sum(1).mean()
    assert torch.allclose(delete_loss(s, z, mask, temperature=5.0).double(), manual, atol=1e-6)


@pytest.mark.parametrize('kwargs', [dict(alpha=-0.1), dict(alpha=1.5), dict(temperature=0.0)])
def test_bad_knobs_raise(kwargs):
    with pytest.raises(ValueError):
        delete_loss(torch.zeros(1, 3), torch.zeros(1, 3), torch.tensor([[True, False, False]]), **kwargs)
