# The face embedded default (tasks/face/synthetic.py): 16 drawn identities of 40 images at 32 px, written to
# data_root on first use; 10 are finetuned (the identities a model recognises, one of which is forgotten) and the
# other 6 pretrain the backbone the original model and the oracle start from (SPEC.md §5.1's protocol, shrunk).
custom_imports = dict(imports=['tasks.face'])  # the task's package (facenet-pytorch only for its network)
task = dict(
    type='FaceTask',
    dataset=dict(
        type='SyntheticFaces',
        root='data/synthetic_faces',
        finetune=['person_00', 'person_01', 'person_02', 'person_03', 'person_04', 'person_05', 'person_06',
                  'person_07', 'person_08', 'person_09'],
        pretrain='rest',
        images_per_identity=40,
        per_identity=(28, 12),
    ),
    eval_batch_size=256,
    eval_train_augmented=True,
)
