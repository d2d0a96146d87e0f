# Random Label (SPEC.md §3.1): cross-entropy to a random label per forget sample, drawn once.
method = dict(
    type='RandomLabel',
    exclude_true_label=False,  # SPEC.md §2, §7.11: uniform over all K classes (official approx_different=True)
)
