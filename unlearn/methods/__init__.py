"""Unlearning methods, one module each, registered in ``METHODS``."""
from .bad_teacher import BadTeacher
from .base import MethodData, Phase, UnlearningMethod
from .boundary_expand import BoundaryExpand
from .boundary_shrink import BoundaryShrink
from .delete import DELETE
from .finetune import Finetune
from .fisher import FisherForgetting
from .influence import InfluenceUnlearn
from .l2ul import L2UL
from .negative_gradient import NegativeGradient
from .random_label import RandomLabel
from .salun import SalUn
from .scrub import SCRUB

__all__ = ['UnlearningMethod', 'MethodData', 'Phase', 'DELETE', 'RandomLabel', 'NegativeGradient', 'Finetune',
           'BoundaryShrink', 'BoundaryExpand', 'InfluenceUnlearn', 'L2UL', 'BadTeacher', 'SalUn',
           'FisherForgetting', 'SCRUB']
