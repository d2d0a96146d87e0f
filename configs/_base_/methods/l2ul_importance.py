# Learn to Unlearn with the MAS importance regulariser (official l2ul_imp, SPEC.md §3.7). The official default
# reg_lambda=0 makes l2ul_imp identical to l2ul_adv; 1.0 is the original L2UL's reg_lamb (the paper's value
# is UNVERIFIED, SPEC.md §8).
_base_ = ['./l2ul.py']
method = dict(reg_lambda=1.0)
