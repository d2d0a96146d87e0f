# Influence Unlearn with remaining data (SPEC.md §3.10, official --retain_data True): the WoodFisher
# inverse-Hessian-scaled step of SalUn's Wfisher. A grey row.
_base_ = ['./influence.py']
method = dict(use_remain_data=True)
