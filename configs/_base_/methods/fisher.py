# Fisher Forgetting (SPEC.md §3.9): Gaussian noise scaled by the remaining data's inverse Fisher. A grey row.
method = dict(
    type='FisherForgetting',
    alpha=0.2,               # SPEC.md §3.9, §7.4: official --alpha (shared with Influence; paper value UNVERIFIED)
    zero_forget_rows=False,  # SPEC.md §3.9, §7.5: the port omits upstream fisher_new's forget-row reset
)
