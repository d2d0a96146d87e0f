# CIFAR-10 as ImageFolder trees, e.g. from `python ../shared/tools/prepare_data.py data cifar10`
# (data/cifar10/{train,test}/<class>/*.jpg, class order = the canonical CIFAR-10 order). Decoded once
# into memory (60k x 32x32x3 = 184 MB) so epochs do not re-decode JPEGs.
custom_imports = dict(imports=['tasks.classification'])  # the task's package registers it
task = dict(
    type='ClassificationTask',
    dataset=dict(type='ImageFolderSplits', root='data/cifar10', image_size=32, in_memory=True,
                 mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616)),
    eval_batch_size=512,
    eval_train_augmented=True,
)
