"""A resumed run's bookkeeping points only into its own work dir."""
from __future__ import annotations

import os
import os.path as osp
import shutil
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS


def inside(path: str, folder: str) -> bool:
    """True when ``path`` lies in ``folder`` (links resolved)."""
    path, folder = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([path, folder]) == folder


def copy_into(path: str, folder: str) -> Optional[str]:
    """``folder/<basename of path>``: the file already there, or a copy of
    ``path`` written atomically (temporary name, then rename); None when
    neither exists."""
    target = osp.join(folder, osp.basename(path))
    if osp.isfile(target):
        return target
    if not osp.isfile(path):
        return None
    partial = osp.join(folder, f'.{osp.basename(path)}.copy.tmp')
    shutil.copy2(path, partial)
    os.replace(partial, target)
    return target


@HOOKS.register_module()
class RunFilesInWorkDirHook(Hook):
    """Keep a resumed run from touching files outside its work dir.

    A checkpoint stores the path of its run's best checkpoint
    (``message_hub.runtime_info['best_ckpt']``), and mmengine's
    ``CheckpointHook`` deletes that file on the next better score. Resumed
    into another work dir (``--work-dir B --resume A/iter_10.pth``, or a
    copied ``cp -r A E``), the run would delete ``A``'s best model.

    When a checkpoint is loaded, every ``best_ckpt*`` path that points
    outside ``runner.work_dir`` is replaced by the file of the same name in
    the work dir, copied there first if it is missing (an atomic copy; the
    original is never changed). A resumed checkpoint from another folder is
    copied in too, so the work dir holds what ``--resume`` continues from.
    One log line says what was copied.

    Declared in the base runtime (``default_hooks.run_files_in_work_dir``).
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        work_dir = runner.work_dir
        info = (checkpoint.get('message_hub') or {}).get('runtime_info')
        copied: List[str] = []
        if isinstance(info, dict):
            for key in [k for k in info if k.startswith('best_ckpt')]:
                path = info[key]
                if not isinstance(path, str) or inside(path, work_dir):
                    continue
                local = osp.join(work_dir, osp.basename(path))
                if not osp.isfile(local) and osp.isfile(path):
                    copied.append(osp.basename(path))
                local = copy_into(path, work_dir)
                if local is None:  # gone: keep the score, forget the file
                    info.pop(key)
                else:
                    info[key] = local
        source = runner.cfg.get('load_from') if runner.cfg.get('resume') \
            else None
        if source and '://' not in source and osp.isfile(source) and \
                not inside(source, work_dir):
            if not osp.isfile(osp.join(work_dir, osp.basename(source))):
                copied.insert(0, osp.basename(source))
            copy_into(source, work_dir)
        if copied:
            print_log(f'resuming from {source or "a checkpoint"} outside the '
                      f'work dir: copied {", ".join(copied)} into '
                      f'{work_dir}; files outside it are never changed',
                      logger='current')
