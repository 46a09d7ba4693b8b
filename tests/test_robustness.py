"""Interrupted runs lose nothing, through mmengine's public extension points:
atomic checkpoint writes (the registered file backend ``atomic_local``,
named by the base runtime's checkpoint hook) and signal-safe data-loader
workers (the registered ``worker_init_fn`` of every dataloader config)."""
import multiprocessing
import os
import signal

import numpy as np
import pytest
import torch
from helpers import SHIPPED_CONFIGS, mmseg_style_config
from mmengine.config import Config

import custom_modules.plugins  # noqa: F401  (registration)
from custom_modules import compat
from custom_modules.compat.atomic_local_backend import (ATOMIC_BACKEND_ARGS,
                                                        AtomicLocalBackend)
from custom_modules.compat import robustness

CONFIG = 'configs/pets/resnet18_unet.py'


# --- atomic checkpoint writes ------------------------------------------------


def test_atomic_local_is_a_registered_file_backend():
    from mmengine.fileio import get_file_backend
    from mmengine.fileio.backends import LocalBackend
    backend = get_file_backend('/tmp/x.pth', backend_args=ATOMIC_BACKEND_ARGS)
    assert type(backend) is AtomicLocalBackend
    assert isinstance(backend, LocalBackend)
    # mmengine's own backend is untouched: a subclass, not a patch
    assert LocalBackend.put.__module__ == LocalBackend.__module__
    assert LocalBackend.put_text.__module__ == LocalBackend.__module__
    assert type(get_file_backend('/tmp/x.pth')) is LocalBackend


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous file and no temp."""
    from mmengine.runner.checkpoint import save_checkpoint
    path = tmp_path / 'iter_4.pth'

    def save(n):
        save_checkpoint({'state_dict': {'w': torch.zeros(n)}}, str(path),
                        backend_args=ATOMIC_BACKEND_ARGS)
    save(3)
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(robustness.os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        save(99)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['iter_4.pth']
    save(99)
    assert compat.load_checkpoint_file(str(path))['state_dict']['w'].numel() \
        == 99
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() makes


def test_put_text_is_atomic_too(tmp_path):
    backend = AtomicLocalBackend()
    path = tmp_path / 'new' / 'record.json'  # missing folders are made
    backend.put_text('{"a": "é"}', str(path))
    assert path.read_text(encoding='utf-8') == '{"a": "é"}'
    assert backend.get_text(str(path)) == '{"a": "é"}'  # LocalBackend's


def test_every_shipped_config_saves_checkpoints_atomically():
    for config in SHIPPED_CONFIGS:
        cfg = Config.fromfile(config)
        assert cfg.default_hooks.checkpoint.backend_args == \
            ATOMIC_BACKEND_ARGS, config




def test_a_runner_from_the_config_saves_through_the_atomic_backend(
        tiny_pets, tmp_path, monkeypatch, own_signal_handlers):
    """A plain ``Runner.from_cfg`` run: the checkpoint hook writes with
    AtomicLocalBackend; a save that dies half-way through iter_2.pth leaves
    the iter_2.pth that was there (a plain LocalBackend would have
    truncated and half-written it)."""
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import Runner
    work = tmp_path / 'run'
    work.mkdir()
    (work / 'iter_2.pth').write_bytes(b'the previous iter_2.pth')
    cfg = mmseg_style_config(tiny_pets, work, 2,
                              'default_hooks.checkpoint.interval=1',
                              'default_hooks.checkpoint.max_keep_ckpts=5')
    written, write = [], robustness._write_synced

    class Killed(Exception):
        pass

    def watched_atomic_write(path, data, real=robustness.atomic_write):
        written.append(os.path.basename(path))
        real(path, data)

    def dying_write(fd, data):
        if written[-1] == 'iter_2.pth':  # half of it, then the end
            os.write(fd, data[:len(data) // 2])
            os.close(fd)
            raise Killed('killed while writing')
        write(fd, data)

    monkeypatch.setattr(robustness, 'atomic_write', watched_atomic_write)
    monkeypatch.setattr(robustness, '_write_synced', dying_write)
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, CheckpointHook))
    with pytest.raises(Killed):
        runner.train()
    assert type(hook.file_backend) is AtomicLocalBackend
    assert written == ['iter_1.pth', 'iter_2.pth']
    assert (work / 'iter_2.pth').read_bytes() == b'the previous iter_2.pth'
    assert compat.load_checkpoint_file(str(work / 'iter_1.pth'))['meta'][
        'iter'] == 1
    assert not list(work.glob('.*.tmp'))


# --- signal-safe data-loader workers ----------------------------------------


class WorkerProbe(torch.utils.data.Dataset):
    """What a data-loader worker sees: its SIGINT handler and the first
    draws of its random generators."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        import random
        return dict(sigint_ignored=signal.getsignal(signal.SIGINT)
                    == signal.SIG_IGN,
                    draws=(random.random(), float(np.random.rand()),
                           float(torch.rand(1))),
                    pid=os.getpid())


def loader_from_shipped_config(config=CONFIG, seed=7):
    """``config``'s train dataloader as mmengine's Runner builds it, over
    :class:`WorkerProbe`, one worker."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(config).train_dataloader
    cfg.update(dataset=WorkerProbe(), num_workers=1, persistent_workers=False,
               batch_size=1, sampler=dict(type='DefaultSampler',
                                          shuffle=False))
    torch.manual_seed(seed)  # as the Runner's randomness does
    return Runner.build_dataloader(cfg.to_dict(), seed=seed)


def test_every_shipped_dataloader_names_the_registered_worker_init_fn():
    from mmengine.registry import FUNCTIONS
    assert FUNCTIONS.get(robustness.WORKER_INIT_FN) is \
        robustness.worker_init_fn
    for config in SHIPPED_CONFIGS:
        cfg = Config.fromfile(config)
        for split in ('train', 'val', 'test'):
            assert cfg[f'{split}_dataloader'].worker_init_fn == dict(
                type=robustness.WORKER_INIT_FN), (config, split)


def test_the_runners_dataloader_workers_ignore_ctrl_c_and_are_seeded(
        own_signal_handlers):
    """Built by ``Runner.build_dataloader`` from the shipped config: the
    worker runs the registered function (SIGINT ignored, unlike the main
    process) and the same seed gives the same draws."""
    # Ctrl-C handled in the main process, as in a terminal, whatever pytest
    # inherited (a script's background job starts with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from mmengine.runner import runner as mmengine_runner
    from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
    # mmengine's default is untouched: the config key does it
    assert mmengine_runner.default_worker_init_fn is mmengine_worker_init_fn
    loader = loader_from_shipped_config()
    assert loader.worker_init_fn.func is robustness.worker_init_fn
    first = next(iter(loader))
    assert first['pid'][0] != os.getpid()  # from a worker process
    assert first['sigint_ignored'] == [True]
    assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN  # main: not
    again = next(iter(loader_from_shipped_config()))
    assert again['draws'] == first['draws']
    other = next(iter(loader_from_shipped_config(seed=8)))
    assert other['draws'] != first['draws']


def _in_a_forked_child(target, *args, **kwargs):
    """``target(*args, **kwargs)``'s return value, run in a forked child
    (the worker function changes signal handling for good)."""
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    proc = ctx.Process(target=lambda: queue.put(target(*args, **kwargs)),
                       daemon=True)
    proc.start()
    try:
        return queue.get(timeout=60)
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def _draws_after(init, *args, **kwargs):
    import random
    init(*args, **kwargs)
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_a_given_seed_gives_mmengines_own_worker_seeds():
    from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
    kwargs = dict(num_workers=2, rank=1, seed=42)
    ours = _in_a_forked_child(_draws_after, robustness.worker_init_fn, 1,
                              **kwargs)
    theirs = _in_a_forked_child(_draws_after, mmengine_worker_init_fn, 1,
                                **kwargs)
    assert ours == theirs


def test_the_rank_comes_from_the_environment_without_a_process_group(
        monkeypatch):
    monkeypatch.setenv('RANK', '3')
    assert robustness._process_rank() == 3
    monkeypatch.delenv('RANK')
    assert robustness._process_rank() == 0


@pytest.mark.skipif(not hasattr(signal, 'sigwaitinfo'),
                    reason='needs signal.sigwaitinfo (Linux)')
def test_data_loader_workers_leave_signals_to_the_main_process():
    """A worker ignores SIGINT and a SIGTERM from anyone but its parent
    (Ctrl-C, Slurm); the parent's terminate() still ends it."""
    import subprocess
    import time
    ctx = multiprocessing.get_context('fork')
    ready = ctx.Event()

    def worker():
        robustness.worker_init_fn(0, num_workers=1, rank=0, seed=1)
        ready.set()
        while True:
            time.sleep(0.05)

    proc = ctx.Process(target=worker, daemon=True)
    proc.start()
    try:
        assert ready.wait(60)
        for sig in ('INT', 'TERM'):  # sent by another process
            subprocess.run(['kill', f'-{sig}', str(proc.pid)], check=True)
        time.sleep(0.5)
        assert proc.is_alive()
        proc.terminate()  # SIGTERM from the parent
        proc.join(30)
        assert proc.exitcode == 0
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
