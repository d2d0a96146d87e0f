# Neural Cleanse's patching by unlearning (Wang et al., S&P 2019; backdoor task only, issue #16): fine-tune on the
# defender's clean images (a grey row), 20% of them stamped with the recovered trigger and keeping their true labels.
# The task's base file (configs/_base_/backdoor/) imports tasks.backdoor, which registers it.
method = dict(type='NCUnlearn', stamp_fraction=0.2)
