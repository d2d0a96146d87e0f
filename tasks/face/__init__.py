"""Face recognition (SPEC.md §5.1): forget an identity; the classification machinery, a pretraining stage on
other identities, and an evaluator that verifies faces and looks at Grad-CAM. facenet-pytorch is imported only
when its network is built."""
from . import datasets, models, synthetic  # noqa: F401
from . import adapter, evaluator  # noqa: F401,E402  (after datasets/models: it builds them)
