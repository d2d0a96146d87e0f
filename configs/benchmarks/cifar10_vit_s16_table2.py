# Table 2's ViT-S/16 row (SPEC.md §6.2): Boundary Shrink and DELETE forgetting deer on CIFAR-10, three seeds.
# GPU-sized.
_base_ = ['../cls/cifar10_vit_s16_forget_deer.py', '../_base_/benchmarks/table2_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar10_vit_s16_table2')
