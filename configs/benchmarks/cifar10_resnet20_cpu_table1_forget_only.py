# The part of cifar10_resnet20_cpu_table1.py within reach of 2 CPU cores: the paper's white rows (the methods
# that read only the forget data). Measured on one core: 3.5-16 min per run (evaluation included), except
# Learn to Unlearn, whose adversarial inner loop makes a run ~55 min. The grey rows (Finetune, SCRUB, Fisher,
# Bad Teacher and SalUn with remaining data) read the 45,000 remaining images: run the full config.
# Same setting and out_dir as the full table, so their finished cells are shared.
_base_ = ['../cls/cifar10_resnet20_cpu_forget_deer.py', '../_base_/benchmarks/forget_only_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(threads=1, out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_table1')
