# Table 3 (SPEC.md §6.3): the forget-only methods with the linear classifier frozen (every parameter named
# *fc*, SPEC.md §1.6), CIFAR-10 ResNet-18, forget deer, three seeds. GPU-sized.
_base_ = ['../cls/cifar10_forget_deer.py', '../_base_/benchmarks/forget_only_methods.py']
schedule = dict(freeze_classifier=True, curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar10_table3_frozen_classifier')
