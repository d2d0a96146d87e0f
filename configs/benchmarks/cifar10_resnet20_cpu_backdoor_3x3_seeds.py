# The bar (#16) on CIFAR-10: the 3x3 patch against three backdoored originals (training seeds 2022, 1 and
# 2), each with its own oracle and Neural Cleanse scan, every defense row once (unlearning seed 2022). Its cells
# are those of cifar10_resnet20_cpu_backdoor_trigger_sizes.py at 3x3: `--merge` counts either run's results.csv.
# Each original costs ~1.3 h on one core (original and oracle ~20 min each, the scan ~26 min, the rows ~35 min).
_base_ = ['./cifar10_resnet20_cpu_backdoor_trigger_sizes.py']
benchmark = dict(figures=[],  # three originals, not a sweep: the table has a section per training seed
                 grid=[{'train_schedule.seed': [2022, 1, 2]}],
                 out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_3x3_seeds')
