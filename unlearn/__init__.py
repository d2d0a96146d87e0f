"""Class-centric machine unlearning around DELETE (CVPR 2025, "Decoupled Distillation to Erase")."""
import os
import warnings

__version__ = '0.1.0'

# mmengine imports pkg_resources (for `mmseg::` config bases), whose import warns it is deprecated: noise a
# user cannot act on. albumentations asks the internet for updates on import; a run never does that.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated as an API', category=UserWarning)
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
