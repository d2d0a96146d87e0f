"""Backdoor defense (SPEC.md §5.2, issue #16): a model trained on data poisoned with a trigger sends triggered
images to the attacker's target class; the defender recovers the trigger and the target from the model and a few
clean images (Neural Cleanse), then unlearns the target label on images stamped with the recovered trigger, so the
backdoor is erased without retraining. ``triggers`` builds the attacks (BadNet, Blend) and chooses the poisoned
samples; ``recovery`` recovers triggers and detects the target; ``adapter`` and ``evaluator`` are the task and its
metrics."""
from . import datasets, recovery, triggers  # noqa: F401
from . import adapter, evaluator  # noqa: F401,E402
from . import methods  # noqa: F401,E402
