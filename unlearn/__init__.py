"""Class-centric machine unlearning around DELETE (CVPR 2025, "Decoupled Distillation to Erase")."""
import os
import warnings

__version__ = '0.1.0'
__all__ = ['unlearn', 'delete_loss']

# mmengine imports pkg_resources (for `mmseg::` config bases), whose import warns it is deprecated: noise a
# user cannot act on. albumentations asks the internet for updates on import; a run never does that.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API', category=UserWarning)
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')


def __getattr__(name: str):
    """``unlearn.unlearn`` (the Python API) and ``unlearn.delete_loss``, imported on first use (PEP 562): tools
    import this package first, for the filters above, before torch and mmengine are imported."""
    if name == 'unlearn':
        from .python_api import unlearn as value
    elif name == 'delete_loss':
        from .losses import delete_loss as value
    else:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    globals()[name] = value
    return value
