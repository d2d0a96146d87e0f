# Extended Yale Face Database B, cropped (../shared/data: `python ../shared/tools/prepare_data.py data faces_yaleb`
# writes data/faces_yaleb/<identity>/*.png, 38 identities x 59..64 grayscale images). The official run's layout
# (issue #15): pretrain on yaleB01..yaleB29 (28 identities: yaleB14 does not exist), finetune on yaleB30..yaleB39;
# a quarter of each identity's images are its test images (48 / 16 of 64; identities have 59..64); the shared set
# comes cropped, so no alignment.
custom_imports = dict(imports=['tasks.face'])
task = dict(
    type='FaceTask',
    dataset=dict(
        type='FaceIdentities',
        root='data/faces_yaleb',
        finetune=[f'yaleB{i:02d}' for i in range(30, 40)],
        pretrain=[f'yaleB{i:02d}' for i in range(1, 30) if i != 14],
        test_fraction=0.25,
        image_size=112,
    ),
    eval_batch_size=128,
    num_workers=2,
    eval_train_augmented=True,
)
