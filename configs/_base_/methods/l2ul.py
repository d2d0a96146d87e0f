# Learn to Unlearn, adversarial variant (official l2ul_adv, SPEC.md §3.7).
method = dict(
    type='L2UL',
    adv_eps=0.4,               # SPEC.md §3.7: L2 radius (official --adv_eps)
    adv_lambda=0.1,            # SPEC.md §3.7: weight of CE on the adversarial examples (official --adv_lambda)
    eps_iter=0.1,              # SPEC.md §3.7: PGD step
    nb_iter=10,                # SPEC.md §3.7: PGD iterations
    reg_lambda=0.0,            # SPEC.md §3.7, §7.8: official --reg_lambda default 0 (no importance term)
    attack_space='normalized', # SPEC.md §7.8: the DELETE port clips normalised inputs to [0, 1]; 'pixel' = original L2UL
)
