# The forget-only methods on Table 4's forget sets (SPEC.md §1.8): the first 1, 2, 5, 10 and 20 entries of
# the official CIFAR-100 permutation map [25, 58, 38, 23, 96, 54, 51, 49, 98, 66, 16, 52, 40, 71, 63, 79, 53,
# 12, 46, 55, ...], by torchvision's class names.
_base_ = ['./forget_only_methods.py']
benchmark = dict(forget_sets=[
    ['couch'],
    ['couch', 'pickup_truck'],
    ['couch', 'pickup_truck', 'kangaroo', 'cloud', 'willow_tree'],
    ['couch', 'pickup_truck', 'kangaroo', 'cloud', 'willow_tree', 'orchid', 'mushroom', 'mountain', 'woman',
     'raccoon'],
    ['couch', 'pickup_truck', 'kangaroo', 'cloud', 'willow_tree', 'orchid', 'mushroom', 'mountain', 'woman',
     'raccoon', 'can', 'oak_tree', 'lamp', 'sea', 'porcupine', 'spider', 'orange', 'bridge', 'man', 'otter'],
])
