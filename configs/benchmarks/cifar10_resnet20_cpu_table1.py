# Table 1's layout on real CIFAR-10 within reach of a CPU: ResNet-20, a 6-epoch recipe, forget deer, every
# method, three seeds. Measured on one core: the forget-only methods take 3.5-16 min each (L2UL 54 min);
# the remain-data methods (R) pass over the 45,000 remaining images every epoch: SCRUB (3 epochs) 13-18 min,
# Bad Teacher (R) 39, Finetune 58, SalUn (R) 75 min per run; Fisher (one pass, ten backward passes per batch)
# 20 min. Drop them from benchmark.methods (or run with a GPU) for a quick table.
_base_ = ['../cls/cifar10_resnet20_cpu_forget_deer.py', '../_base_/benchmarks/table1_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_table1')
