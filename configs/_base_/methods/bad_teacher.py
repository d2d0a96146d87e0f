# Bad Teacher, forget data only (SPEC.md §3.8): distil a randomly initialised network on the forget data.
method = dict(
    type='BadTeacher',
    retain_fraction=0.0,  # SPEC.md §3.8: no retain data (the paper's non-grey row)
    temperature=1.0,      # SPEC.md §3.8: KL_temperature 1, batchmean, no T^2
)
