# The digits default with a Blended attack instead of a patch: uniform noise over the whole 8x8 image at opacity
# 0.1 (configs/_base_/backdoor/blend.py). A whole-image trigger is where Neural Cleanse's small-mask assumption
# does not hold: its recovered mask is a patch-like stand-in.
_base_ = ['./digits_badnet_forget_backdoor.py']
task = dict(attack=dict(_delete_=True, type='Blend', alpha=0.1, pattern='random', poison_rate=0.1, seed=0))
work_dir = 'work_dirs/digits_blend_forget_backdoor'
