# Pets: 256x256 photos, classes background / cat / dog (mask values 0/1/2,
# 255 ignored). Layout: <data_root>/img/<split>/*.jpg and
# <data_root>/<labels>/<split>/*.png. Switch the data with
# `tools/train.py ... --data-root PATH --labels labels_fixed`.
dataset_type = 'PetsDataset'
data_root = 'data/pets'
labels = 'labels'
crop_size = (256, 256)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    # Fast*: mmseg's RandomCrop, PhotoMetricDistortion and PackSegInputs,
    # same outputs, a fraction of the CPU time (docs/benchmarks.md)
    dict(type='FastRandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FastPhotoMetricDistortion'),
    dict(type='FastPackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='FastPackSegInputs'),
]

# worker_init_fn: each worker is seeded (mmengine's formula), then leaves
# Ctrl-C and a job-wide SIGTERM to the main process, which saves a checkpoint
# first (custom_modules.compat.robustness.worker_init_fn, registered in
# mmengine's FUNCTIONS by custom_modules.plugins)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    worker_init_fn=dict(type='signal_safe_worker_init_fn'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 labels=labels, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    worker_init_fn=dict(type='signal_safe_worker_init_fn'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 labels=labels, pipeline=test_pipeline))
# The test split is held back; evaluate on val unless you have it
# (`--cfg-options test_dataloader.dataset.split=test`).
test_dataloader = val_dataloader

val_evaluator = dict(type='JaccardMetric')
test_evaluator = val_evaluator
