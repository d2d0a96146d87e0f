# Table 1, CIFAR-10 columns (SPEC.md §6.1): ResNet-18 at 224 px, forget deer, every method, three seeds.
# GPU-sized: two 150-epoch reference models, then 48 unlearning runs.
_base_ = ['../cls/cifar10_forget_deer.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar10_table1')
