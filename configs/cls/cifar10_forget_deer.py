# The paper's Table 1 CIFAR-10 row: ResNet-18 (ImageNet stem, 224 px), forget class 4 (deer), DELETE with
# the official settings (SPEC.md §1.3-1.4, §4.4). GPU-sized: 150 epochs at 224 px for each reference model.
_base_ = [
    '../_base_/datasets/cifar10.py', '../_base_/models/resnet18.py', '../_base_/methods/delete.py',
    '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py', '../_base_/default_runtime.py',
]
task = dict(dataset=dict(image_size=224))
forget_classes = ['deer']
schedule = dict(optim_wrapper=dict(optimizer=dict(lr=1e-4)))
work_dir = 'work_dirs/cifar10_forget_deer'
