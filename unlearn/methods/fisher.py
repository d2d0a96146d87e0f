"""Fisher Forgetting: add Gaussian noise scaled by the inverse Fisher information of the remaining data.

Golatkar et al., "Eternal Sunshine of the Spotless Net", CVPR 2020, as the official ``fisher`` implements
it (SPEC.md §3.9): weights the remaining data does not need get the most noise. The Fisher diagonal and its
inverse are computed in float32 whatever the run's precision (a one-shot edit runs outside autocast): bfloat16's
8-bit mantissa would round the small diagonal entries whose inverse sets the noise.
"""
import torch

from unlearn.capabilities import SampleLabels
from unlearn.losses import cross_entropy, mean_over_valid
from unlearn.registry import METHODS

from .base import MethodData, UnlearningMethod
from .gradients import gradients, trainable_parameters


@METHODS.register_module()
class FisherForgetting(UnlearningMethod):
    """Fisher Forgetting (Golatkar et al., CVPR 2020, https://arxiv.org/abs/1911.04933; SPEC.md §3.9).

    Remaining data only (a grey row), a one-shot edit in eval mode, no training. The diagonal Fisher
    ``F = mean over remain batches of sum_c mean_b(p_c) · (∇ CE(output, c))²`` sets each weight's noise
    variance ``var = min(1 / (F + 1e-8), 1e3)`` (1e2 on the last layer, the tensors with K rows), times
    ``alpha``, averaged over dim 1 of weight matrices, times 10 on the last layer and on 1-D tensors; then
    ``θ = θ0 + sqrt(var) · N(0, 1)``. Frozen parameters (e.g. a frozen ``fc``, SPEC.md §1.6) are untouched.

    Args:
        alpha: noise scale (official ``--alpha`` 0.2, shared with Influence; huge next to Golatkar's and
            SalUn's 1e-6..1e-8, SPEC.md §7.4; the paper's value is UNVERIFIED).
        zero_forget_rows: upstream ``fisher_new``'s treatment of the last layer's forget-class rows (mean 0,
            variance 1e-4), which the DELETE port omits (SPEC.md §7.5). Default False, as the port.

    The Fisher is estimated at the schedule's batch size (the port's 128; upstream uses 32).
    """
    requires = (SampleLabels,)
    uses_remain_data = True
    trains = False

    def __init__(self, alpha: float = 0.2, zero_forget_rows: bool = False):
        if alpha <= 0:
            raise ValueError(f'FisherForgetting: alpha must be > 0, got {alpha}')
        self.alpha = alpha
        self.zero_forget_rows = zero_forget_rows

    def edit(self, model, data: MethodData) -> None:
        task, num_classes = model.task, model.task.num_classes
        params = [p for _, p in trainable_parameters(model.student)]
        fisher = [torch.zeros_like(p) for p in params]
        n_batches = 0
        for batch in data.batches(model, data.remain, desc='Fisher: diagonal Hessian on the remaining data'):
            with torch.enable_grad():
                logits = task.logits(model.student, batch)
                labels, valid = task.labels(batch), task.valid_mask(batch)
                probs = torch.softmax(logits.detach().float(), dim=1)
                for c in range(num_classes):
                    grads = gradients(cross_entropy(logits, torch.full_like(labels, c), valid), params,
                                      retain_graph=c < num_classes - 1)
                    weight = mean_over_valid(probs[:, c], valid)
                    for acc, g in zip(fisher, grads):
                        acc += weight * g.pow(2)
            n_batches += 1
        noise_norm = 0.0
        with torch.no_grad():
            for p, f in zip(params, fisher):
                mean, var = self._mean_var(p, f / n_batches, num_classes, model.request.forget_classes)
                noisy = mean + var.sqrt() * torch.randn_like(p)
                noise_norm += float((noisy - p).pow(2).sum())
                p.copy_(noisy)
        data.log(f'Fisher noise: norm {noise_norm ** 0.5:.4g}, alpha {self.alpha}')

    def _mean_var(self, p, fisher, num_classes: int, forget_classes) -> tuple:
        """The official ``get_mean_var`` (SPEC.md §3.9), plus upstream's forget rows when asked."""
        last_layer = p.shape[0] == num_classes
        var = (1.0 / (fisher + 1e-8)).clamp(max=1e3)
        if last_layer:
            var = var.clamp(max=1e2)
        var = self.alpha * var
        if p.dim() > 1:
            var = var.mean(dim=1, keepdim=True).expand_as(p).clone()
        mean = p.detach().clone()
        if last_layer and self.zero_forget_rows:
            mean[forget_classes] = 0
            var[forget_classes] = 1e-4
        if last_layer or p.dim() == 1:
            var = var * 10
        return mean, var
