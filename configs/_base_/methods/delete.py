# DELETE with the official defaults (SPEC.md §1.3): own-label mask, no alpha / temperature ablation.
method = dict(type='DELETE', alpha=0.0, temperature=1.0, mask_all_forget_classes=False)
