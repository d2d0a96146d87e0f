# Finetune (SPEC.md §3.3): CE on the whole remaining training set (a grey row); no own hyper-parameters.
# schedule.disable_bn does not apply to it, as in the official code (SPEC.md §1.5).
method = dict(type='Finetune')
