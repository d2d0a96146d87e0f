# DELETE (R), not in the paper: DELETE on the forget data, and every epoch a pass over the remaining data that
# distils the original with nothing erased (a grey row). For backdoor defense the remaining data is the defender's
# clean images, which hold the target class's own images that the stamped forget set lacks.
method = dict(type='DELETE', alpha=0.0, temperature=1.0, mask_all_forget_classes=False, remain_weight=1.0)
