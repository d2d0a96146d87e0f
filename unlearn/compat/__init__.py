"""Compatibility with the environment this project runs in (see DESIGN.md §7)."""
from .mmcv_shim import compiled_ops_available, install_mmcv_shim

__all__ = ['compiled_ops_available', 'install_mmcv_shim']
