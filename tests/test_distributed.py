"""``torchrun --nproc_per_node=2 tools/train.py ... --launcher pytorch`` on
CPU processes (gloo): both ranks finish, rank 0 writes one checkpoint."""
import os
import subprocess
import sys

import torch
from helpers import FAST_ENV, REPO, TINY_RESNET18_UNET

from custom_modules.compat import load_checkpoint_file


def test_two_processes_train_and_write_one_checkpoint(tiny_pets, tmp_path):
    work = tmp_path / 'ddp'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           '--nproc_per_node=2', 'tools/train.py',
           'configs/pets/resnet18_unet.py', '--launcher', 'pytorch',
           '--data-root', str(tiny_pets), '--work-dir', str(work),
           '--pretrained', 'none', '--no-clearml', '--cfg-options',
           *TINY_RESNET18_UNET, 'train_cfg.max_iters=2',
           'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
           'train_dataloader.batch_size=2']
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **FAST_ENV})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]  # torchrun: every rank exited 0
    # the environment dump and the config are in the run's log file
    log = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'Distributed training: True' in log
    if not torch.cuda.is_available():
        assert 'uses the gloo backend' in out
        assert 'x 2 processes' in out  # the terminal's header
        # the run's own environment dump says what it uses
        assert "backend='gloo'" in log and "backend='nccl'" not in log
        assert 'GPU number: 0 (CPU, 2 processes)' in log
    assert 'best at iter 2: mJaccard' in out
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'best_mJaccard_iter_2.pth', 'iter_2.pth']
    ckpt = load_checkpoint_file(str(work / 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])
