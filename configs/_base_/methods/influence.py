# Influence Unlearn (official wood_fisher, SPEC.md §3.10): one step theta += alpha * mean grad CE_forget.
method = dict(
    type='InfluenceUnlearn',
    alpha=0.2,                 # SPEC.md §3.10, §7.4: official --alpha (shared with Fisher)
    use_remain_data=False,     # SPEC.md §3.10: the default without retain data (Table 1's row, UNVERIFIED)
    woodfisher_samples=1000,   # SPEC.md §3.10: N of the WoodFisher recursion (used with remain data only)
)
