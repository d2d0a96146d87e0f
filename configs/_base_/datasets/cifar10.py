# CIFAR-10 through torchvision (SPEC.md §4.1-4.2). root holds cifar-10-batches-py; download=True when online.
custom_imports = dict(imports=['tasks.classification'])  # the task's package registers it
task = dict(
    type='ClassificationTask',
    dataset=dict(type='CIFAR10', root='data/cifar10', image_size=32, download=False),
    eval_batch_size=512,
    num_workers=2,
    eval_train_augmented=True,
)
