"""Running the command-line tools from tests (``import helpers``).

``tests/conftest.py`` puts this folder on ``sys.path``.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Every shipped config, as paths relative to the repository (the tests
#: run there), found from this file's place, not the working directory.
SHIPPED_CONFIGS = sorted(str(p.relative_to(REPO))
                         for p in (REPO / 'configs' / 'pets').glob('*.py'))
assert len(SHIPPED_CONFIGS) >= 7, SHIPPED_CONFIGS  # a wrong path finds none

#: Environment for tool subprocesses that train: one BLAS/OpenMP thread per
#: process (several threads per process on a shared 2-core machine are ~10x
#: slower) and unbuffered output, so a test can follow the log.
FAST_ENV = {'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}

#: ``configs/pets/resnet18_unet.py`` shrunk for tests: an 8-channel encoder
#: at 64x64, no worker processes, no prediction pictures.
TINY_RESNET18_UNET = [
    'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
    'model.decode_head.in_channels=[8,16,32,64]',
    'model.decode_head.decoder_channels=[64,32,32,32,32]',
    'model.data_preprocessor.size=(64,64)',
    'train_dataloader.dataset.pipeline.2.scale=(64,64)',
    'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
    'val_dataloader.dataset.pipeline.1.scale=(64,64)',
    'test_dataloader.dataset.pipeline.1.scale=(64,64)',
    'default_hooks.visualization.draw=False',
] + [f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
     for key in ('num_workers=0', 'persistent_workers=False')]


def tool_command(tool, *args):
    return [sys.executable, str(REPO / 'tools' / tool), *map(str, args)]


def run_tool(tool, *args, env=None, check=True, timeout=900):
    proc = subprocess.run(
        tool_command(tool, *args), cwd=REPO, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f'{tool} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def tiny_cfg_options(iters):
    """A few iterations, no worker processes, checkpoint and val at the end."""
    options = [f'train_cfg.max_iters={iters}',
               f'train_cfg.val_interval={iters}',
               f'default_hooks.checkpoint.interval={iters}',
               'train_dataloader.batch_size=2', 'param_scheduler.0.end=1',
               'default_hooks.logger.interval=1']
    for loader in ('train', 'val', 'test'):
        options += [f'{loader}_dataloader.num_workers=0',
                    f'{loader}_dataloader.persistent_workers=False']
    return options


def closed_port() -> int:
    """A localhost port nothing listens on."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def assert_one_line_error(proc, *fragments, code=2):
    """The tool failed with ``code`` and one ``error:`` line, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-3000:])
    assert 'Traceback' not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith(('error:', 'interrupted:'))]
    assert len(errors) == 1, proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


class Tool:
    """A tool running in the background in its own process group (so a
    signal can go to it and its data-loader workers, as Ctrl-C does)."""

    def __init__(self, tool, *args, log: Path, env=None):
        self.log = Path(log)
        self._out = open(self.log, 'w')
        self.proc = subprocess.Popen(
            tool_command(tool, *args), cwd=REPO, stdout=self._out,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, **FAST_ENV, **(env or {})})

    def text(self) -> str:
        return self.log.read_text()

    def wait_for_iteration(self, at_least: int, timeout: float = 300) -> int:
        """Block until the log shows a training iteration >= ``at_least``;
        returns the newest one logged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = train_iterations(self.text())
            if done and done[-1] >= at_least:
                return done[-1]
            if self.proc.poll() is not None:
                raise AssertionError(f'exited {self.proc.returncode} early:'
                                     f'\n{self.text()[-3000:]}')
            time.sleep(0.05)
        raise AssertionError(f'no iteration {at_least} in {timeout} s')

    def signal_group(self, signum=signal.SIGTERM) -> None:
        os.killpg(self.proc.pid, signum)

    def wait(self, timeout: float = 300) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()


_ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/\d+\]\s+lr: ([\d.e+-]+)')


def train_iterations(log: str) -> list:
    """Training iterations in a log, in order."""
    return [int(m.group(1)) for m in _ITER.finditer(log)]


def learning_rates(log: str) -> dict:
    """Iteration -> logged learning rate."""
    return {int(m.group(1)): float(m.group(2)) for m in _ITER.finditer(log)}


def tiny_segmentor_cfg(size: int = 16, segmentor: dict | None = None,
                       **head) -> dict:
    """An EncoderDecoder config with an 8-channel ResNet-18 and a
    ResNetUNetHead (3 classes, ``size``x``size`` input); ``segmentor``
    overrides segmentor keys (``type``, ``fg_vote``), ``head`` the decode
    head's arguments (e.g. ``loss_decode``, ``decoder_channels``)."""
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[1, 1, 1], size=(size, size)),
        backbone=dict(type='ResNet', depth=18, init_cfg=None,
                      base_channels=8, stem_channels=8),
        decode_head=dict(type='ResNetUNetHead', in_channels=(8, 16, 32, 64),
                         num_classes=3,
                         **{'decoder_channels': (8, 8, 8, 8, 8), **head}),
        test_cfg=dict(mode='whole'))
    return {**cfg, **(segmentor or {})}


def tiny_segmentor(size: int = 16, segmentor: dict | None = None, **head):
    """:func:`tiny_segmentor_cfg`, built with seed 0."""
    import torch
    from mmengine.config import ConfigDict
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(ConfigDict(tiny_segmentor_cfg(size, segmentor,
                                                      **head)))


def mmseg_style_config(root, work_dir, iters, *options):
    """``configs/pets/resnet18_unet.py`` as mmseg's tools/train.py loads it,
    shrunk: ``Config.fromfile``, mmengine's ``--cfg-options`` parser,
    ``cfg.work_dir``; nothing of this project's command-line code. Offline:
    no ClearML session, a visualizer of its own per call."""
    import argparse
    import uuid

    from mmengine.config import Config, DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    data = [f'{split}_dataloader.dataset.data_root={root}'
            for split in ('train', 'val', 'test')]
    args = parser.parse_args(['--cfg-options', *TINY_RESNET18_UNET,
                              *tiny_cfg_options(iters), *data,
                              'model.backbone.init_cfg=None', *options])
    cfg = Config.fromfile(str(REPO / 'configs' / 'pets' / 'resnet18_unet.py'))
    cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.visualizer.name = f'visualizer_{uuid.uuid4().hex[:8]}'
    return cfg
