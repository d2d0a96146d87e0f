# The backdoor defense's table on the embedded digits default (issue #16): a white BadNet patch of 1x1, 2x2 and 3x3
# pixels on the 8x8 digits towards 'one', Neural Cleanse's recovery (20 steps of 200 images per class), every
# defense row, three unlearning seeds. Each size has its own backdoored original; one oracle serves them all.
_base_ = ['../backdoor/digits_badnet_forget_backdoor.py', '../_base_/benchmarks/backdoor_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    grid={'task.attack.size': [1, 2, 3]},
    seeds=[2022, 2023, 2024],
    threads=1,
    out_dir='work_dirs/benchmarks/digits_backdoor_trigger_sizes',
)
