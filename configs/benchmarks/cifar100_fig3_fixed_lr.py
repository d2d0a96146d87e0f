# Fig. 3 (SPEC.md §4.5): one learning rate (the official 5e-5) for every forget-set size, 1 to 20 CIFAR-100
# classes, the forget-only methods, three seeds; H-Mean against the number of classes (forget_set_size.png).
# GPU-sized.
_base_ = ['../cls/cifar100_forget_couch.py', '../_base_/benchmarks/cifar100_multiclass.py']
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=5e-5)), curve_interval=0)
benchmark = dict(
    figures=['forget_set_size'],
    out_dir='work_dirs/benchmarks/cifar100_fig3_fixed_lr',
)
