# Table 4 (SPEC.md §6.4): forgetting 1, 2, 5, 10 and 20 CIFAR-100 classes with ResNet-18, Acc_ft / Acc_rt /
# H-Mean per forget set, three seeds. DELETE runs twice: the official own-label mask (each sample erases its
# own class, SPEC.md §1.8) and the variant that erases every forget class for every sample. GPU-sized.
_base_ = ['../cls/cifar100_forget_couch.py', '../_base_/benchmarks/cifar100_multiclass.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    methods=[
        '../_base_/methods/random_label.py',
        '../_base_/methods/negative_gradient.py',
        '../_base_/methods/boundary_shrink.py',
        '../_base_/methods/boundary_expand.py',
        '../_base_/methods/influence.py',
        '../_base_/methods/l2ul.py',
        '../_base_/methods/bad_teacher.py',
        '../_base_/methods/salun.py',
        '../_base_/methods/delete.py',
        dict(type='DELETE', alpha=0.0, temperature=1.0, mask_all_forget_classes=True),
    ],
    columns=['acc_ft', 'acc_rt', 'h_mean'],
    out_dir='work_dirs/benchmarks/cifar100_table4_multiclass',
)
