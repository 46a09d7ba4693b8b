"""custom_modules.compat.robustness: atomic checkpoint writes, signal-safe workers."""
import os

import pytest
import torch

from custom_modules import compat
from custom_modules.compat import robustness


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    """A save that fails half-way leaves the previous file and no temp."""
    from mmengine.runner.checkpoint import save_checkpoint
    path = tmp_path / 'iter_4.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(robustness.os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint({'state_dict': {'w': torch.zeros(99)}}, str(path))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['iter_4.pth']
    save_checkpoint({'state_dict': {'w': torch.zeros(99)}}, str(path))
    assert compat.load_checkpoint_file(str(path))['state_dict']['w'].numel() \
        == 99
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() makes


@pytest.mark.skipif(not hasattr(robustness.signal, 'sigwaitinfo'),
                    reason='needs signal.sigwaitinfo (Linux)')
def test_data_loader_workers_leave_signals_to_the_main_process():
    """A worker ignores SIGINT and a SIGTERM from anyone but its parent
    (Ctrl-C, Slurm); the parent's terminate() still ends it."""
    import multiprocessing
    import subprocess
    import time
    from mmengine.runner import runner
    assert runner.default_worker_init_fn is robustness.worker_init_fn
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
