# CIFAR-100 through torchvision (SPEC.md §4.1-4.2). root holds cifar-100-python; download=True when online.
# Class names are torchvision's fine labels (apple, aquarium_fish, ..., couch = 25, ...).
custom_imports = dict(imports=['tasks.classification'])  # the task's package registers it
task = dict(
    type='ClassificationTask',
    dataset=dict(type='CIFAR100', root='data/cifar100', image_size=32, download=False),
    eval_batch_size=512,
    num_workers=2,
    eval_train_augmented=True,
)
