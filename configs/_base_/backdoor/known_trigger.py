# The attack's true trigger and target, as if recovery were perfect: the upper bound that isolates the unlearning.
recovery = dict(type='KnownTrigger')
