# Saliency Unlearning, forget data only (SPEC.md §3.6): Random Label on the 50 % most salient weights.
method = dict(
    type='SalUn',
    threshold_ratio=0.5,       # SPEC.md §3.6, §7.10: official --threshold_ratio (overrides the function's 0.1)
    use_remain_data=False,     # SPEC.md §3.6: official --retain_data False (the paper's non-grey row)
    use_mask=True,             # SPEC.md §3.6: official --salun_mask (False = Random Label)
    exclude_true_label=False,  # SPEC.md §2: random labels uniform over all K classes
)
