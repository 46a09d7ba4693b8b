"""Data-loader workers sized to the machine when there is no GPU."""
import torch

from custom_modules.tools.config import (fit_loader_workers, free_cpus,
                                            load_config)
from custom_modules.tools.train import build_config


def test_free_cpus_are_the_cores_torch_threads_leave():
    assert free_cpus(cores=2, threads=2) == 0
    assert free_cpus(cores=16, threads=8) == 8
    assert free_cpus(cores=4, threads=8) == 0


def test_no_free_cpu_loads_in_the_training_process():
    cfg = load_config('configs/pets/resnet18_unet.py')  # mmseg's 2 workers
    changed = fit_loader_workers(cfg, gpu=False, free=0)
    assert changed == {'train_dataloader': 2, 'val_dataloader': 2,
                       'test_dataloader': 2}
    for name in changed:
        assert cfg[name].num_workers == 0
        assert cfg[name].persistent_workers is False  # torch refuses True


def test_free_cpus_cap_and_a_smaller_setting_stays():
    cfg = load_config('configs/pets/resnet18_unet.py')
    assert fit_loader_workers(cfg, gpu=False, free=1)['val_dataloader'] == 2
    assert cfg.train_dataloader.num_workers == 1
    assert cfg.train_dataloader.persistent_workers is True
    cpu = load_config('configs/pets/cpu_pretrained.py')  # one worker
    assert fit_loader_workers(cpu, gpu=False, free=1) == {}
    assert cpu.train_dataloader.num_workers == 1


def test_a_gpu_or_a_given_setting_keeps_the_config():
    cfg = load_config('configs/pets/resnet18_unet.py')
    assert fit_loader_workers(cfg, gpu=True, free=0) == {}
    assert cfg.train_dataloader.num_workers == 2
    changed = fit_loader_workers(
        cfg, given={'train_dataloader.num_workers': 2}, gpu=False, free=0)
    assert 'train_dataloader' not in changed
    assert cfg.train_dataloader.num_workers == 2
    assert cfg.val_dataloader.num_workers == 0


def test_train_config_follows_the_rule_on_this_machine(tmp_path):
    cfg = build_config('configs/pets/resnet18_unet.py', pretrained='none',
                       clearml=False, work_dir=str(tmp_path))
    expected = 2 if torch.cuda.is_available() else min(2, free_cpus())
    assert cfg.train_dataloader.num_workers == expected
    given = build_config('configs/pets/resnet18_unet.py', pretrained='none',
                         clearml=False, work_dir=str(tmp_path),
                         cfg_options=['train_dataloader.num_workers=2'])
    assert given.train_dataloader.num_workers == 2
