# Where runs and the cached original / retrain models go, and the unlearning seed (SPEC.md §1.4: 2022).
work_dir = 'work_dirs'
checkpoint_dir = 'work_dirs/checkpoints'
seed = 2022
original_checkpoint = None  # None: train once with train_schedule and cache under checkpoint_dir
retrain_checkpoint = None
