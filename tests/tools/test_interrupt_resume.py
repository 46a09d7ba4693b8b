"""A run killed with ``kill -9``, resumed, stopped with SIGTERM, resumed
again ends at the planned iteration as one run: same learning-rate schedule,
the log continues, one best checkpoint with the best score of all parts."""
import json
import re

from helpers import (TINY_RESNET18_UNET, Tool, learning_rates,
                     train_iterations)

from custom_modules.compat import load_checkpoint_file
from custom_modules.tools.resume import complete

CONFIG = 'configs/pets/resnet18_unet.py'
MAX_ITERS = 20


def _vals(log: str) -> list:
    """(training iteration, val mJaccard) in log order."""
    out, it = [], 0
    for line in log.splitlines():
        found = re.search(r'Iter\(train\) \[\s*(\d+)/', line)
        if found:
            it = int(found.group(1))
        found = re.search(r'val/mJaccard: ([\d.]+)', line)
        if found:
            out.append((it, float(found.group(1))))
    return out


def test_kill_resume_sigterm_resume(tiny_pets, tmp_path):
    work = tmp_path / 'run'
    args = [CONFIG, '--data-root', tiny_pets, '--work-dir', work,
            '--pretrained', 'none', '--no-clearml', '--cfg-options',
            *TINY_RESNET18_UNET, f'train_cfg.max_iters={MAX_ITERS}',
            'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
            'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
            # one data-loader worker: the signals reach it too, as Ctrl-C does
            'train_dataloader.num_workers=1',
            'train_dataloader.persistent_workers=True']

    # 1. kill -9 after the first checkpoint
    first = Tool('train.py', *args, log=tmp_path / 'first.log')
    first.wait_for_iteration(6)
    first.signal_group(9)
    assert first.wait() == -9
    saved = [int(p.stem.split('_')[1]) for p in work.glob('iter_*.pth')
             if complete(str(p))]
    k = max(saved)
    assert k >= 4

    # 2. --resume continues at k + 1; SIGTERM: checkpoint, then exit 143.
    # With ClearML on (offline here): its fork hook once killed the workers
    with_clearml = [a for a in args if a != '--no-clearml']
    second = Tool('train.py', *with_clearml, '--resume',
                  log=tmp_path / 'second.log')
    second.wait_for_iteration(k + 2)
    second.signal_group(15)
    assert second.wait() == 143, second.text()[-3000:]
    log2 = second.text()
    assert f'resumed epoch: 0, iter: {k}' in log2
    done2 = train_iterations(log2)
    assert done2[0] == k + 1
    n = done2[-1]
    assert (f'interrupted: SIGTERM at iteration {n}; saved '
            f'{work}/iter_{n}.pth') in log2 and 'Traceback' not in log2
    assert (work / 'last_checkpoint').read_text() == f'{work}/iter_{n}.pth'
    summary = json.loads((work / 'run_summary.json').read_text())
    assert summary['stop_reason'] == 'SIGTERM'
    assert summary['stopped_early'] is False and summary['iters'] == n

    # 3. --resume finishes the schedule
    third = Tool('train.py', *args, '--resume', log=tmp_path / 'third.log')
    assert third.wait() == 0, third.text()[-3000:]
    log3 = third.text()
    done3 = train_iterations(log3)
    assert done3[0] == n + 1 and done3[-1] == MAX_ITERS
    summary = json.loads((work / 'run_summary.json').read_text())
    assert summary['stop_reason'] is None and summary['stopped_early'] is False

    _assert_schedule_went_on([first.text(), log2, log3])
    _assert_one_best_over_all_parts(work, first.text(), k, log2, log3)


def _assert_schedule_went_on(logs) -> None:
    """The learning-rate schedule went on, not restarted: warm-up rises at
    every iteration, equal where two parts logged the same iteration."""
    lrs = {}
    for log in logs:
        for it, lr in learning_rates(log).items():
            assert lrs.setdefault(it, lr) == lr, (it, lrs[it], lr)
    assert sorted(lrs) == list(range(1, MAX_ITERS + 1))
    values = [lrs[it] for it in sorted(lrs)]
    assert all(a < b for a, b in zip(values, values[1:]))


def _assert_one_best_over_all_parts(work, log1, k, log2, log3) -> None:
    """Best-so-far survived both resumes: one best file, the best score of
    all parts (part 1 counted up to its last checkpoint ``k``)."""
    vals = ([v for it, v in _vals(log1) if it <= k]
            + [v for _, v in _vals(log2)] + [v for _, v in _vals(log3)])
    best_files = list(work.glob('best_mJaccard_iter_*.pth'))
    assert len(best_files) == 1
    final = load_checkpoint_file(str(work / f'iter_{MAX_ITERS}.pth'))
    best_score = float(final['message_hub']['runtime_info']['best_score'])
    assert abs(best_score - max(vals)) < 0.01  # logged with 2 decimals
    assert final['meta']['iter'] == MAX_ITERS
    assert not list(work.glob('.*.tmp'))  # no half-written leftovers
