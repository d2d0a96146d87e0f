# Table 1, CIFAR-100 columns (SPEC.md §6.1): ResNet-18 at 224 px, forget couch, every method, three seeds.
# GPU-sized: two 150-epoch reference models, then 48 unlearning runs.
_base_ = ['../cls/cifar100_forget_couch.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar100_table1')
