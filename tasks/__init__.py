"""Tasks: each package maps one task onto the class dimension and registers its models, data and adapter."""
from . import classification, segmentation  # noqa: F401
