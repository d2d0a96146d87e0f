# SCRUB (SPEC.md §3.11): max steps away from the original on forget data, min steps toward it on remain data.
# A grey row. Defaults from the authors' large-scale CIFAR-10 notebook (DELETE's values are UNVERIFIED).
method = dict(
    type='SCRUB',
    temperature=4.0,  # SPEC.md §3.11: kd_T
    gamma=0.99,       # SPEC.md §3.11: weight of CE on the remaining data
    alpha=0.001,      # SPEC.md §3.11: weight of the distillation on the remaining data
    msteps=2,         # SPEC.md §3.11: epochs with a max step
    forget_batch_size=512,  # SPEC.md §3.11: the notebook's forget loader
    remain_batch_size=256,  # SPEC.md §3.11: the notebook's retain loader
    augment=False,          # SPEC.md §3.11: both loaders come from get_loaders(..., augment=False)
    # SCRUB's own schedule, merged over the shared one (method.schedule; SPEC.md §3.11):
    schedule=dict(
        max_epochs=3,  # sgda_epochs
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=5e-4, momentum=0.9, weight_decay=5e-4)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=True, milestones=[3, 5, 9], gamma=0.1),  # lr_decay_epochs
    ),
)
