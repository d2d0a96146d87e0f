# CIFAR-10 backdoored by a 3x3 white BadNet patch (10% of the non-target training images, all-to-one towards
# 'airplane', BackdoorBench's default target 0); Neural Cleanse recovers the trigger with the defender's 5% of clean
# images (2,275 of the 45,500 clean ones) and DELETE erases the detected target on them stamped with it. Data: `python
# ../shared/tools/prepare_data.py data cifar10`. The models are the cls/ CPU recipe (ResNet-20, 6 epochs), so the
# original and the oracle train in ~15 min each on 2 CPU cores; the GPU twin is
# configs/backdoor/cifar10_r18_badnet3x3_forget_backdoor.py (ResNet-18, 150 epochs).
_base_ = [
    '../_base_/backdoor/badnet.py', '../_base_/backdoor/neural_cleanse.py',
    '../_base_/models/resnet20_cifar.py', '../_base_/methods/delete.py', '../_base_/schedules/unlearn_20e.py',
    '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
# The dataset of configs/_base_/datasets/cifar10_folder.py, restated: mmengine refuses two _base_ files defining `task`.
task = dict(dataset=dict(type='ImageFolderSplits', root='data/cifar10', image_size=32, in_memory=True,
                         mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616)),
            attack=dict(size=3), eval_batch_size=512)
forget_classes = ['airplane']
train_schedule = dict(max_epochs=6, param_scheduler=dict(step_size=4), log_interval=100)
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=1e-4)))
work_dir = 'work_dirs/cifar10_resnet20_cpu_badnet3x3_forget_backdoor'
