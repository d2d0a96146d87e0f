# Table 5's alpha / T ablation on CIFAR-10 ResNet-18, forget deer (the paper's setting). GPU-sized.
_base_ = ['../cls/cifar10_forget_deer.py', '../_base_/benchmarks/table5_ablation.py']
schedule = dict(curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar10_table5_ablation')
