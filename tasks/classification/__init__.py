"""Image classification: the paper's networks and datasets (SPEC.md §4)."""
from . import datasets, models, transforms  # noqa: F401
from . import adapter, evaluator  # noqa: F401,E402  (after datasets/models: it builds them)
