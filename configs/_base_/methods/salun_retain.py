# Saliency Unlearning with remaining data (SPEC.md §3.6, official --retain_data True): each epoch a forget
# pass, then a pass over the whole remaining set with true labels, both masked. A grey row.
_base_ = ['./salun.py']
method = dict(use_remain_data=True)
