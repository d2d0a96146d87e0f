# Segmentation's counterpart of Table 1 on the CPU VOC setting (voc_r18_cpu_forget_dog.py): forget dog with
# DELETE and every baseline defined on per-pixel logits, one seed (each cell reuses the cached original and
# oracle). The other baselines refuse segmentation with one line (they need image-level labels or weights).
_base_ = ['../seg/voc_r18_cpu_forget_dog.py']
benchmark = dict(
    methods=[
        '../_base_/methods/random_label.py',
        '../_base_/methods/negative_gradient.py',
        '../_base_/methods/bad_teacher.py',
        '../_base_/methods/salun.py',
        '../_base_/methods/scrub_seg.py',
        '../_base_/methods/finetune.py',
        '../_base_/methods/delete.py',
    ],
    seeds=[2022],
    threads=1,
    out_dir='work_dirs/benchmarks/voc_r18_cpu_forget_dog',
)
