# Bad Teacher with 30 % of the remaining data under the good teacher (SPEC.md §3.8, official --retain_data
# True). A grey row.
_base_ = ['./bad_teacher.py']
method = dict(retain_fraction=0.3)
