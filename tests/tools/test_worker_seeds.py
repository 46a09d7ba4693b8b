"""tools/train.py gives the signal-safe worker_init_fn the run's seed, so
workers draw the augmentations mmengine's default seeding would."""
from mmengine.config import Config

from custom_modules.compat.robustness import WORKER_INIT_FN
from custom_modules.tools.train import build_config, seed_workers_as_mmengine


def test_the_run_seed_reaches_every_shipped_loader(tmp_path):
    cfg = build_config('configs/pets/cpu_pretrained.py', seed=7,
                       work_dir=str(tmp_path / 'run'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        init = cfg[key].worker_init_fn
        assert (init.type, init.seed) == (WORKER_INIT_FN, 7), key


def test_a_config_seed_is_kept_and_other_functions_left_alone():
    cfg = Config(dict(
        randomness=dict(seed=3),
        train_dataloader=dict(worker_init_fn=dict(type=WORKER_INIT_FN,
                                                  seed=11)),
        val_dataloader=dict(worker_init_fn=dict(type='other_fn')),
        test_dataloader=None))
    seed_workers_as_mmengine(cfg)
    assert cfg.train_dataloader.worker_init_fn.seed == 11
    assert 'seed' not in cfg.val_dataloader.worker_init_fn
