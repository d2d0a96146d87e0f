# Boundary Expand (SPEC.md §3.5): train the forget data into a shadow (K+1)-th class of fc, then prune it.
# No own hyper-parameters; needs a classifier nn.Linear named fc.
method = dict(type='BoundaryExpand')
