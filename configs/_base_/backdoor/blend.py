# Blended (Chen et al. 2017), all-to-one towards forget_classes: uniform noise blended over the whole image at
# opacity 0.1 into 10% of the non-target training images, on the stored uint8 image before augmentation. A leaf
# config adds task.dataset; task.defense is the defender's share of clean training images (BackdoorBench: 5%).
custom_imports = dict(imports=['tasks.backdoor'])  # the task's package registers it
task = dict(
    type='BackdoorTask',
    attack=dict(type='Blend', alpha=0.1, pattern='random', poison_rate=0.1, seed=0),
    defense=dict(clean_fraction=0.05, seed=0),
)
