"""Unlearning methods, one module each, registered in ``METHODS``."""
from .base import MethodData, Phase, UnlearningMethod
from .delete import DELETE

__all__ = ['UnlearningMethod', 'MethodData', 'Phase', 'DELETE']
