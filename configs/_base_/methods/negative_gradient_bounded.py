# Negative Gradient bounded (a reconstruction after BaEraser, issue #16): -CE on the forget data, but a sample the
# student no longer predicts as its forget label gives no gradient; the loss is still averaged over the whole batch.
method = dict(type='NegativeGradient', until_forgotten=True)
