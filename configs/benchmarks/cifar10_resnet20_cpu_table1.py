# Table 1's layout on real CIFAR-10 within reach of a CPU: ResNet-20, a 6-epoch recipe, forget deer, every
# method, three seeds. The forget-only methods take 3.5-16 min each on one core (L2UL ~55 min); the
# remain-data methods (R) pass over the 45,000 remaining images every epoch: SCRUB (3 epochs) ~16-21 min,
# the others 40-65 min per run. Drop them from benchmark.methods (or run with a GPU) for a quick table.
_base_ = ['../cls/cifar10_resnet20_cpu_forget_deer.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_table1')
