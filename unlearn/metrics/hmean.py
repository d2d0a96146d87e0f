"""H-Mean of retained-class accuracy and forget-class accuracy drop (SPEC.md §4.5, after GS-LoRA)."""
from __future__ import annotations


def h_mean(acc_rt: float, acc_ft: float, original_acc_ft: float) -> float:
    """Harmonic mean of Acc_rt and Drop_ft = original_acc_ft - acc_ft, all in percent.

    The formula is applied exactly as written, with no clipping: this is what reproduces the paper's
    tables (SPEC.md §6.7). So if the unlearned model beats the original on D_ft, the drop is negative
    and H can be negative (or large when Acc_rt + Drop_ft is near 0), which flags the run rather than
    hiding it. ``original_acc_ft`` must be measured on the same forget-class set (Table 4 gives it per N).
    Returns 0.0 when Acc_rt + Drop_ft == 0, where the formula is undefined.
    """
    drop_ft = original_acc_ft - acc_ft
    denominator = acc_rt + drop_ft
    if denominator == 0:
        return 0.0
    return 2.0 * acc_rt * drop_ft / denominator
