# DELETE (R) with frozen batch norm, its learning rate and anchor weight chosen as a defender can choose them: on a
# fifth of its own clean images, held out of the unlearning (task.defense.holdout), by the recovered trigger's ASR
# on them among the settings whose clean accuracy there stays within 1 point of the original's (if none does, the
# highest clean accuracy there; docs/results.md, "Choosing DELETE (R)'s setting on the defender's held-out
# images"). Neural Cleanse's cached scans of the 4x4 and 5x5 originals (a scan reads every defender image); one
# unlearning run per setting, ~10 min each on one core.
_base_ = ['./cifar10_resnet20_cpu_backdoor_trigger_sizes.py']
task = dict(defense=dict(holdout=0.2))
benchmark = dict(
    methods=['{{ fileDirname }}/../_base_/methods/delete_remain_frozen_bn.py'],
    grid=[
        {'task.attack.size': [4, 5], 'method.remain_weight': [0.3, 0.5, 1.0],
         'schedule.optim_wrapper.optimizer.lr': [3e-4]},
        {'task.attack.size': [4, 5], 'method.remain_weight': [1.0], 'schedule.optim_wrapper.optimizer.lr': [1e-4]},
    ],
    columns=['clean_acc', 'clean_acc_target', 'asr', 'der', 'recovered_asr', 'defender_clean_acc',
             'defender_recovered_asr', 'time_s'],
    figures=[],
    out_dir='work_dirs/benchmarks/cifar10_resnet20_cpu_backdoor_frozen_bn_selection',
)
