# Negative Gradient (official gradient_ascent, SPEC.md §3.2): -CE on the forget data; no own hyper-parameters.
method = dict(type='NegativeGradient')
