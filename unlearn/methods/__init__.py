"""Unlearning methods, one module each, registered in ``METHODS``."""
from .base import UnlearningMethod
from .delete import DELETE

__all__ = ['UnlearningMethod', 'DELETE']
