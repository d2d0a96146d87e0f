# DELETE (R) whose pass over the remaining data keeps the student's BatchNorm in eval mode (not in the paper, a grey
# row): the remaining images anchor the weights, while the normalisation statistics stay those of the forget data.
# For backdoor defense: a pass that re-estimates the statistics on clean images brings the backdoor back
# (docs/results.md, "DELETE's variants on CIFAR-10 4x4").
method = dict(type='DELETE', alpha=0.0, temperature=1.0, mask_all_forget_classes=False, remain_weight=1.0,
              remain_frozen_bn=True)
