# Table 5's alpha / T ablation on the CPU-affordable CIFAR-10 setting of cifar10_resnet20_cpu_table1.py
# (ResNet-20, 6-epoch original and oracle, forget deer), three seeds, one thread per cell.
_base_ = ['../cls/cifar10_resnet20_cpu_forget_deer.py', '../_base_/benchmarks/table5_ablation.py']
schedule = dict(curve_interval=0)
benchmark = dict(threads=1, out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_table5_ablation')
