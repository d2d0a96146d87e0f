"""Class-centric machine unlearning around DELETE (CVPR 2025, "Decoupled Distillation to Erase")."""
__version__ = '0.1.0'
