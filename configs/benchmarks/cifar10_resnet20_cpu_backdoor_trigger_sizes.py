# The backdoor defense's table on CIFAR-10 (issue #16): white BadNet patches of 1x1 to 5x5 towards 'airplane' on the
# CPU ResNet-20 recipe, Neural Cleanse's recovery, every defense row, one unlearning seed; at 3x3 also two more
# backdoored originals (training seeds 1 and 2). Each size and seed has its own original (~15 min on 2 cores) and
# recovery; the oracle depends on neither and is trained once per training seed.
_base_ = ['../backdoor/cifar10_resnet20_cpu_badnet3x3_forget_backdoor.py', '../_base_/benchmarks/backdoor_methods.py']
schedule = dict(curve_interval=0)
benchmark = dict(
    grid=[{'task.attack.size': [1, 2, 3, 4, 5]}, {'task.attack.size': [3], 'train_schedule.seed': [1, 2]}],
    seeds=[2022],
    threads=1,
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_trigger_sizes',
)
