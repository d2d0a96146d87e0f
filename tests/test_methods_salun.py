"""SalUn: only the salient weights train, and the others stay bit-identical through momentum and weight
decay (the bug upstream SalUn carried for ten months, issue #32)."""
import torch

from method_helpers import FORGET, first_batch, method_data, one_thread, run, sgd_steps, true_labels, wrapper  # noqa: F401
from unlearn.methods import RandomLabel, SalUn
from unlearn.methods.salun import saliency_mask


def _masked_model(threshold_ratio=0.5, **kwargs):
    method = SalUn(threshold_ratio=threshold_ratio, **kwargs)
    model = wrapper(method)
    data = method_data(method, remain_size=96)
    return method, model, data


def test_mask_keeps_the_top_share_of_weights_by_forget_gradient_ranked_globally():
    method, model, data = _masked_model(threshold_ratio=0.3)
    masks = saliency_mask(model, data, 0.3)
    kept = torch.cat([m.reshape(-1) for m in masks])
    assert int(kept.sum()) == int(kept.numel() * 0.3)
    assert len({round(float(m.float().mean()), 2) for m in masks}) > 2, 'ranked across tensors, not per tensor'


def test_masked_weights_stay_bit_identical_under_momentum_and_weight_decay(tmp_path):
    method, model, data = _masked_model()
    originals = [p.detach().clone() for p in model.student.parameters()]
    run(model, data, tmp_path, max_epochs=2, lr=0.1, weight_decay=5e-4)
    moved = 0
    for p, original, keep in zip(model.student.parameters(), originals, method.masks):
        assert torch.equal(p[~keep], original[~keep]), 'a masked-out weight moved'
        moved += int((p[keep] != original[keep]).sum())
    assert moved > 0.5 * sum(int(k.sum()) for k in method.masks), 'the salient weights train'


def test_a_gradient_mask_alone_lets_weight_decay_move_masked_weights():
    """Why SalUn restores the masked weights after each step: SGD adds weight decay inside ``step``."""
    method, model, data = _masked_model()
    method.setup(model, data)
    originals = [p.detach().clone() for p in model.student.parameters()]
    sgd_steps(model, [first_batch(method.phases(data)[0].dataset)] * 2, lr=0.1, weight_decay=5e-4)
    assert any(not torch.equal(p[~keep], o[~keep])
               for p, o, keep in zip(model.student.parameters(), originals, method.masks))
    method.finalize(model)


def test_with_remain_data_each_epoch_is_a_forget_pass_then_a_full_remain_pass():
    method, _, data = _masked_model(use_remain_data=True)
    forget, remain = method.phases(data)
    assert method.uses_remain_data and method.table_name == 'SalUn (R)'
    assert true_labels(forget.dataset) == set(FORGET) and len(remain.dataset) == len(data.remain)
    assert forget.epochs is None and remain.epochs is None
    relabelled = first_batch(forget.dataset, 64)[1]
    assert (relabelled != FORGET[0]).any(), 'the forget pass uses the random labels'


def test_without_the_mask_salun_is_random_label():
    method = SalUn(use_mask=False)
    model = wrapper(method)
    method.setup(model, method_data(method))
    assert method.hooks() == [] and not method.masks
    batch = first_batch(method.phases(method_data(method))[0].dataset)
    assert torch.equal(batch[1], first_batch(RandomLabel().phases(method_data(method))[0].dataset)[1])
