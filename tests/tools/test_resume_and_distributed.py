"""What --resume continues from (tools/resume.py); SyncBN on CPU processes (tools/distributed.py)."""
import pytest
import torch
from mmengine.config import Config

from custom_modules.common.errors import UserError
from custom_modules.tools.distributed import configure_distributed
from custom_modules.tools.resume import complete, resume_checkpoint


def _save(path, n=10):
    torch.save({'state_dict': {'w': torch.zeros(n)}}, path)
    return str(path)


def test_resume_follows_last_checkpoint(tmp_path):
    _save(tmp_path / 'iter_8.pth')
    named = _save(tmp_path / 'iter_4.pth')
    (tmp_path / 'last_checkpoint').write_text(named)
    assert resume_checkpoint(str(tmp_path)) == named


@pytest.mark.parametrize('pointer', [None, '', 'iter_12.pth', 'truncated'])
def test_resume_falls_back_to_newest_complete_checkpoint(tmp_path, pointer):
    _save(tmp_path / 'iter_4.pth')
    newest = _save(tmp_path / 'iter_8.pth')
    data = open(_save(tmp_path / 'iter_12.pth', 1000), 'rb').read()
    (tmp_path / 'iter_12.pth').write_bytes(data[:len(data) // 2])  # torn
    assert not complete(str(tmp_path / 'iter_12.pth')) and complete(newest)
    if pointer is not None:
        target = str(tmp_path / 'iter_12.pth') if pointer else ''
        (tmp_path / 'last_checkpoint').write_text(target)
    assert resume_checkpoint(str(tmp_path)) == newest


def test_resume_in_a_moved_work_dir_uses_its_own_files(tmp_path):
    old, new = tmp_path / 'old', tmp_path / 'new'
    old.mkdir(), new.mkdir()
    _save(old / 'iter_4.pth')
    moved = _save(new / 'iter_4.pth')
    (new / 'last_checkpoint').write_text(str(old / 'iter_4.pth'))
    assert resume_checkpoint(str(new)) == moved


def test_nothing_to_resume(tmp_path):
    assert resume_checkpoint(str(tmp_path)) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_sync_bn_in_one_process_is_not_ignored_silently(capsys):
    cfg = Config(dict(model=dict(), sync_bn='torch'))
    configure_distributed(cfg, 'none')
    assert '--sync-bn has no effect in one process' in capsys.readouterr().err
    configure_distributed(Config(dict(model=dict())), 'none')
    assert capsys.readouterr().err == ''


def test_cpu_processes_get_bn_instead_of_syncbn(monkeypatch):
    from custom_modules.tools import distributed
    started = []  # no torchrun here: record the process group's start
    monkeypatch.setattr(distributed, 'start_cpu_process_group',
                        lambda launcher, dist_cfg: started.append(launcher))
    cfg = Config(dict(model=dict(
        backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
        decode_head=dict(norm_cfg=dict(type='SyncBN')))))
    configure_distributed(cfg, 'none')
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'  # single process
    configure_distributed(cfg, 'pytorch')
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.decode_head.norm_cfg.type == 'BN'
    assert started == ['pytorch']
    cfg.sync_bn = 'torch'
    with pytest.raises(UserError, match='--sync-bn needs CUDA'):
        configure_distributed(cfg, 'pytorch')
