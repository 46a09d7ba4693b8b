"""``torchrun --nproc_per_node=2 tools/train.py ... --launcher pytorch`` on
CPU processes (gloo): both ranks finish, rank 0 writes one checkpoint; and
``tools/test.py`` evaluates it the same way. Without CUDA the config asks
for it (``configure_distributed``: gloo, ``model_wrapper_cfg``
``device_ids=None``, the process group started before the Runner); no
mmengine or torch function is patched."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from helpers import FAST_ENV, REPO, TINY_RESNET18_UNET, closed_port
from mmengine.config import Config

from custom_modules.compat import load_checkpoint_file
from custom_modules.tools import distributed

no_cuda = pytest.mark.skipif(torch.cuda.is_available(),
                             reason='the CPU path: only without CUDA')


def torchrun(*args):
    return [sys.executable, '-m', 'torch.distributed.run', '--standalone',
            '--nproc_per_node=2', *map(str, args)]


def test_two_processes_train_and_write_one_checkpoint(tiny_pets, tmp_path):
    work = tmp_path / 'ddp'
    cmd = torchrun('tools/train.py',
                   'configs/pets/resnet18_unet.py', '--launcher', 'pytorch',
                   '--data-root', tiny_pets, '--work-dir', work,
                   '--pretrained', 'none', '--no-clearml', '--cfg-options',
                   *TINY_RESNET18_UNET, 'train_cfg.max_iters=2',
                   'train_cfg.val_interval=2',
                   'default_hooks.checkpoint.interval=2',
                   'train_dataloader.batch_size=2')
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
        assert 'device_ids=None' in log  # the config's model_wrapper_cfg
    assert 'best at iter 2: mJaccard' in out
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'best_mJaccard_iter_2.pth', 'iter_2.pth']
    ckpt = load_checkpoint_file(str(work / 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])

    # tools/test.py in two processes evaluates it
    test_work = tmp_path / 'ddp_test'
    cmd = torchrun('tools/test.py', 'configs/pets/resnet18_unet.py',
                   work / 'iter_2.pth', '--launcher', 'pytorch',
                   '--data-root', tiny_pets, '--work-dir', test_work,
                   '--no-clearml', '--cfg-options', *TINY_RESNET18_UNET)
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **FAST_ENV})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert (test_work / 'test_results.json').is_file()
    log = '\n'.join(p.read_text() for p in test_work.glob('*/*.log'))
    assert 'Distributed training: True' in log
    if not torch.cuda.is_available():
        assert "backend='gloo'" in log and "backend='nccl'" not in log


def _cfg(**keys) -> Config:
    return Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl')),
                       model=dict(type='EncoderDecoder',
                                  norm_cfg=dict(type='SyncBN')), **keys))


@no_cuda
def test_without_cuda_the_config_asks_for_gloo_and_no_device_ids(
        monkeypatch):
    started = []
    monkeypatch.setattr(distributed, 'start_cpu_process_group',
                        lambda launcher, dist_cfg: started.append(
                            (launcher, dict(dist_cfg))))
    cfg = _cfg(find_unused_parameters=True)
    distributed.configure_distributed(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model.norm_cfg.type == 'BN'
    # what mmengine's Runner builds without a model_wrapper_cfg, minus the
    # device ids
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', device_ids=None,
        broadcast_buffers=False, find_unused_parameters=True)
    assert started == [('pytorch', dict(backend='gloo'))]
    # a config's own wrapper keeps its keys
    cfg = _cfg(model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                      detect_anomalous_params=True))
    distributed.configure_distributed(cfg, 'slurm')
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', detect_anomalous_params=True,
        device_ids=None)
    # one process: nothing changes
    cfg = _cfg()
    distributed.configure_distributed(cfg, 'none')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg
    assert len(started) == 2


@no_cuda
def test_the_wrapper_config_builds_a_cpu_ddp_model():
    """The Runner's own call: MODEL_WRAPPERS.build with device_ids as a
    default argument, which the config's None overrides."""
    code = textwrap.dedent(f'''
        import os, torch, torch.distributed as dist
        import custom_modules.plugins
        from mmengine.config import Config
        from mmengine.registry import MODEL_WRAPPERS
        from mmengine.model import BaseModel
        from custom_modules.tools import distributed
        os.environ.update(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                          MASTER_ADDR='127.0.0.1',
                          MASTER_PORT='{closed_port()}')
        cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl',
                                                     timeout=60))))
        distributed.configure_distributed(cfg, 'pytorch')
        assert dist.is_initialized() and dist.get_backend() == 'gloo'

        class Model(BaseModel):
            def __init__(self):
                super().__init__()
                self.linear = torch.nn.Linear(2, 2)

            def forward(self, *args, **kwargs):
                return self.linear(*args)

        wrapper = MODEL_WRAPPERS.build(
            dict(cfg.model_wrapper_cfg),
            default_args=dict(module=Model(), device_ids=[0]))
        assert wrapper.device_ids is None
        dist.destroy_process_group()
        print('ok')
    ''')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **FAST_ENV})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')


@no_cuda
def test_slurm_variables_become_torch_distributed_ones():
    """As mmengine's _init_dist_slurm sets them, without set_device."""
    code = textwrap.dedent(f'''
        import os, torch.distributed as dist
        import custom_modules.plugins
        from mmengine.config import Config
        from custom_modules.tools import distributed
        os.environ.update(SLURM_PROCID='0', SLURM_NTASKS='1',
                          SLURM_NODELIST='node1', SLURM_LOCALID='0',
                          MASTER_ADDR='127.0.0.1')
        for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
            os.environ.pop(key, None)
        cfg = Config(dict(env_cfg=dict(dist_cfg=dict(
            backend='nccl', port={closed_port()}))))
        distributed.configure_distributed(cfg, 'slurm')
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        assert dist.get_rank() == 0 and dist.get_world_size() == 1
        print(os.environ['RANK'], os.environ['WORLD_SIZE'],
              os.environ['LOCAL_RANK'], os.environ['MASTER_PORT'])
        dist.destroy_process_group()
    ''')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **FAST_ENV})
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank, world, local, port = proc.stdout.split()[-4:]
    assert (rank, world, local) == ('0', '1', '0') and int(port) > 0
