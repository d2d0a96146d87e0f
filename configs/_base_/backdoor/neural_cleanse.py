# Neural Cleanse (Wang et al., S&P 2019) scans every class and the MAD test picks the target t̂ (target='detect');
# 50 steps of 1,000 images per class fit a CPU (NC's own code: 1,000 steps). A top-level key, not task.recovery:
# mmengine refuses two _base_ files that both define `task`, and the recovery is chosen apart from the attack.
recovery = dict(type='NeuralCleanse', target='detect', steps=50, images_per_step=1000, batch_size=32, seed=0)
