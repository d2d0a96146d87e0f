# The paper's Table 1 CIFAR-100 row: ResNet-18 (ImageNet stem, 224 px), forget class 25 (couch, the first
# entry of the official permutation map), DELETE with the official settings (SPEC.md §1.4: unlearning lr
# 5e-5). GPU-sized: 150 epochs at 224 px for each reference model.
_base_ = [
    '../_base_/datasets/cifar100.py', '../_base_/models/resnet18.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
task = dict(dataset=dict(image_size=224))
forget_classes = ['couch']
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=5e-5)))
work_dir = 'work_dirs/cifar100_forget_couch'
