# AT&T / ORL faces (../shared/data: `python ../shared/tools/prepare_data.py data faces_orl` writes
# data/faces_orl/<identity>/*.png, 40 identities x 10 grayscale 112x92 images): pretrain on s1..s30, finetune on
# s31..s40 with 7 training and 3 test images each.
custom_imports = dict(imports=['tasks.face'])
task = dict(
    type='FaceTask',
    dataset=dict(
        type='FaceIdentities',
        root='data/faces_orl',
        finetune=[f's{i}' for i in range(31, 41)],
        pretrain=[f's{i}' for i in range(1, 31)],
        per_identity=(7, 3),
        image_size=112,
    ),
    eval_batch_size=128,
    num_workers=2,
    eval_train_augmented=True,
)
