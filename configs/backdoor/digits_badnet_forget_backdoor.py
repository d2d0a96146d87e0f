# The embedded backdoor default: a small CNN on scikit-learn's digits, backdoored by a 2x2 white BadNet patch towards
# 'one'; Neural Cleanse recovers the trigger and the target from it with the defender's 5% of clean images, and
# DELETE erases 'one' on those images stamped with the recovered trigger. Runs in about a minute on 2 CPU cores.
_base_ = [
    '../_base_/backdoor/badnet.py', '../_base_/backdoor/neural_cleanse.py', '../_base_/models/digits_cnn.py',
    '../_base_/methods/delete.py', '../_base_/schedules/unlearn_20e.py', '../_base_/schedules/train_150e.py',
    '../_base_/default_runtime.py',
]
task = dict(dataset=dict(type='Digits'), attack=dict(size=2), eval_batch_size=512)
forget_classes = ['one']
# Scanning the 10 classes: 20 steps of 200 images each (the defender holds 65 images).
recovery = dict(steps=20, images_per_step=200)
# As configs/cls/digits_forget_3.py: a short recipe reaches ~98% clean test accuracy.
train_schedule = dict(max_epochs=15, batch_size=64,
                      optim_wrapper=dict(optimizer=dict(lr=0.05)),
                      param_scheduler=dict(step_size=10), log_interval=10)
schedule = dict(batch_size=32, optim_wrapper=dict(optimizer=dict(lr=2e-3)))
work_dir = 'work_dirs/digits_badnet_forget_backdoor'
