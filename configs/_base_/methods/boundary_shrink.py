# Boundary Shrink (SPEC.md §3.4): CE to the neighbour class an FGSM step on the original model reaches.
method = dict(
    type='BoundaryShrink',
    eps=0.1,  # SPEC.md §3.4: FGSM bound in [0, 1] pixel space (official bound=0.1), dataset's own mean/std
)
