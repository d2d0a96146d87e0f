# The GPU twin of cifar10_resnet20_cpu_badnet3x3_forget_backdoor.py: the CIFAR-stem ResNet-18 on 32 px images
# (configs/_base_/models/resnet18_cifar.py; BackdoorBench's preactresnet18 setting is the closest public one),
# trained for the official 150 epochs, and Neural Cleanse's own 1,000 steps per class.
_base_ = ['./cifar10_resnet20_cpu_badnet3x3_forget_backdoor.py']
model = dict(_delete_=True, type='ResNet18', stem='cifar')
train_schedule = dict(max_epochs=150, param_scheduler=dict(step_size=40), log_interval=50)
recovery = dict(steps=1000)
work_dir = 'work_dirs/cifar10_r18_badnet3x3_forget_backdoor'
