# SCRUB for segmentation: the run's own loaders (schedule.batch_size, the train pipeline). The authors'
# un-augmented 512 / 256 loaders are CIFAR's; mmseg's val pipeline keeps each image's size, so it cannot
# batch VOC training images.
_base_ = ['./scrub.py']
method = dict(forget_batch_size=None, remain_batch_size=None, augment=True)
