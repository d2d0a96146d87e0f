# BadNet (Gu et al. 2017), all-to-one towards forget_classes: a 3x3 white patch in the bottom-right corner of 10% of
# the non-target training images, stamped on the stored uint8 image before augmentation (BackdoorBox). The leaf
# config adds task.dataset; task.defense is the defender's share of clean training images (BackdoorBench: 5%).
custom_imports = dict(imports=['tasks.backdoor'])  # the task's package registers it
task = dict(
    type='BackdoorTask',
    attack=dict(type='BadNet', size=3, position='bottom_right', pattern='white', poison_rate=0.1, seed=0),
    defense=dict(clean_fraction=0.05, seed=0),
)
