"""Milliseconds per image of a config's training data pipeline.

What the data-loader worker spends per image (one process, one core), once
the cached loaders hold every decoded photo: on a 2-core machine that time
is taken from the training step's threads.
"""
from __future__ import annotations

import copy
import time

from mmengine.config import Config

from custom_modules.tools.inference import init_scope


def pipeline_ms_per_image(cfg: Config, passes: int = 2) -> float:
    """Mean ms per image of ``cfg.train_dataloader.dataset`` over
    ``passes`` passes of the dataset, after one untimed pass (which fills
    the decoded-image caches)."""
    from mmseg.registry import DATASETS
    init_scope(cfg)
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    for i in range(len(dataset)):
        dataset[i]
    start = time.perf_counter()
    for _ in range(passes):
        for i in range(len(dataset)):
            dataset[i]
    return 1000 * (time.perf_counter() - start) / (passes * len(dataset))
