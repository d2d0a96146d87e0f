# The backdoor defense's rows (issue #16): remain-data defenses on the defender's 5% of clean images (Finetune (R),
# Neural Cleanse's patching, DELETE (R)), and forget-only unlearning of t̂ on those images stamped with the
# recovered trigger (gradient ascent plain and bounded, Random Label, SalUn, DELETE). Every metric against the
# benchmark's grid key (the trigger size) in methods_sweep.png.
benchmark = dict(
    methods=[
        '{{ fileDirname }}/../methods/finetune.py',
        '{{ fileDirname }}/../methods/nc_unlearn.py',
        '{{ fileDirname }}/../methods/negative_gradient.py',
        '{{ fileDirname }}/../methods/negative_gradient_bounded.py',
        '{{ fileDirname }}/../methods/random_label.py',
        '{{ fileDirname }}/../methods/salun.py',
        '{{ fileDirname }}/../methods/delete.py',
        '{{ fileDirname }}/../methods/delete_remain.py',
    ],
    columns=['clean_acc', 'clean_acc_target', 'asr', 'ra', 'asr_shift', 'der', 'recovered_asr', 'time_s'],
    figures=['methods_sweep'],
)
