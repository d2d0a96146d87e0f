# VGGFace2 as the official face experiment reads it (SPEC.md §5.1): both folders, data/vggface2/{train,test}/
# <identity>/*.jpg, merged by identity. Identities with >= 500 images, sorted by image count (descending): the first
# 100 pretrain the backbone, the next 10 are finetuned and unlearned; 400 training and 100 test images each. The
# official run aligned nothing (VGGFace2's loosely cropped faces, centre-cropped); `align=dict(type='MTCNN',
# size=224)` aligns them on the five landmarks instead (crops cached in <root>.mtcnn224/).
custom_imports = dict(imports=['tasks.face'])
task = dict(
    type='FaceTask',
    dataset=dict(
        type='FaceIdentities',
        root=['data/vggface2/train', 'data/vggface2/test'],
        order='by_count',
        min_images=500,
        pretrain=100,
        finetune=10,
        per_identity=(400, 100),
        image_size=224,
    ),
    eval_batch_size=256,
    num_workers=8,
    eval_train_augmented=True,
)
