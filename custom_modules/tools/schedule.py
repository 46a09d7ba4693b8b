"""The length of a run: ``tools/train.py --max-iters N`` rescales the whole
schedule, and a bare ``train_cfg.max_iters`` that leaves an lr scheduler
unfinished gets a one-line warning.

Which schedulers warn: an iteration-based one (``by_epoch=False``) whose
shape ends after ``train_cfg.max_iters``, so its warm-up, decay or cycle is
cut off where it stands: ``begin + total_steps`` (OneCycle: mmengine
follows ``total_steps`` whatever ``end`` says), ``begin + T_max``
(cosine), ``begin`` + the last milestone, else ``end`` (mmengine does not
clamp ``end`` to ``max_iters``). A schedule *shorter* than the run does
not warn: a decay that ended (PolyLR, cosine) keeps its final lr for the
remaining iterations, as planned. Epoch-based schedulers are left alone.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

from .. import plugins  # noqa: F401  (the patched, registered stack first)
from mmengine.config import Config
from mmengine.logging import print_log

from ..common.errors import UserError
from ..hooks.time_budget import fit_schedule

#: ``train_cfg``/hook keys counted in iterations that --max-iters rescales
#: besides the schedulers (``fit_schedule`` scales those).
INTERVALS = {'train_cfg.val_interval': 'val every',
             'default_hooks.checkpoint.interval': 'checkpoint every'}

_MISSING = object()


def check_schedule(cfg: Config, max_iters: Optional[int] = None,
                   options: Optional[dict] = None) -> None:
    """``--max-iters`` (when given), then the unfinished-schedule warning.

    ``options`` are the ``--cfg-options`` already merged into ``cfg``; the
    keys they set keep their values (anything in ``--cfg-options`` wins).
    """
    options = options or {}
    if max_iters is not None:
        print_log(rescale_schedule(cfg, max_iters, options),
                  logger='current')
    check_max_iters(cfg, options)
    warn_unfinished_schedule(cfg, options)


def check_max_iters(cfg: Config, options: Optional[dict] = None) -> None:
    """Refuse an iteration-based run of fewer than one iteration (mmengine
    would create the work dir, train nothing and exit 0)."""
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_iters' not in train_cfg:
        return  # an epoch-based loop, or a config without training
    iters = train_cfg.get('max_iters')
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        given = _given(options or {}, 'train_cfg.max_iters')
        where = ('--cfg-options train_cfg.max_iters' if given is not _MISSING
                 else f'train_cfg.max_iters in {cfg.filename or "the config"}')
        raise UserError(f'{where}: {iters!r} iterations trains nothing; give '
                        'a whole number >= 1, e.g. --cfg-options '
                        'train_cfg.max_iters=500 (or --max-iters 500 to '
                        'rescale the whole schedule)')


def rescale_schedule(cfg: Config, iters: int,
                     options: Optional[dict] = None) -> str:
    """Rescale ``cfg``'s whole schedule to ``iters`` iterations.

    ``train_cfg.max_iters``, every iteration-based ``param_scheduler``
    (:func:`~custom_modules.hooks.time_budget.fit_schedule`),
    ``train_cfg.val_interval`` and ``default_hooks.checkpoint.interval``
    (at least 1, at most ``iters``; an interval that was the whole run stays
    the whole run) scale by the same factor. Keys set in ``options`` are put
    back as given. Returns the line that says what changed.
    """
    options = options or {}
    if iters < 1:
        raise UserError(f'--max-iters {iters}: give a number of iterations '
                        '>= 1')
    given = _given(options, 'train_cfg.max_iters')
    if given is not _MISSING:
        raise UserError(f'--max-iters {iters} and --cfg-options '
                        f'train_cfg.max_iters={given} both set the length of '
                        'the run; give only --max-iters')
    old = (cfg.get('train_cfg') or {}).get('max_iters')
    if not isinstance(old, int) or old < 1:
        raise UserError(f'--max-iters {iters}: {cfg.filename or "the config"}'
                        ' has no train_cfg.max_iters (an epoch-based loop?); '
                        '--max-iters needs an IterBasedTrainLoop')
    before = [dict(s) for s in _schedulers(cfg)]
    fit_schedule(cfg, iters)
    nudged = [_short_warmup(s) for s in _schedulers(cfg)]
    changes = []
    for key, label in INTERVALS.items():
        value = _get(cfg, key)
        if isinstance(value, int):
            new = iters if value >= old else \
                min(iters, max(1, round(value * iters / old)))
            _set(cfg, key, new)
            changes.append((key, f'{label} {new}'))
    scheduler_keys = [k for k in options if k.split('.')[0] ==
                      'param_scheduler']
    if scheduler_keys:  # the user's own values, after the scaling
        cfg.merge_from_dict({k: options[k] for k in scheduler_keys})
    for key in INTERVALS:
        value = _given(options, key)
        if value is not _MISSING:
            _set(cfg, key, value)
    words = [_describe(old_s, new_s, note) for old_s, new_s, note in
             zip(before, _schedulers(cfg), nudged)]
    words += [text for key, text in changes
              if _given(options, key) is _MISSING]
    detail = f' ({", ".join(w for w in words if w)})' if any(words) else ''
    return (f'--max-iters {iters}: schedule rescaled from {old} to {iters} '
            f'iterations{detail}')


def unfinished_schedulers(cfg: Config) -> List[Tuple[int, str, int]]:
    """``(index, type, last iteration)`` of every iteration-based scheduler
    that runs past ``train_cfg.max_iters``."""
    max_iters = (cfg.get('train_cfg') or {}).get('max_iters')
    if not isinstance(max_iters, int):
        return []
    late = []
    for i, sched in enumerate(_schedulers(cfg)):
        if sched.get('by_epoch', True):
            continue
        length = scheduler_length(sched)
        if length is not None and length > max_iters:
            late.append((i, str(sched.get('type')), length))
    return late


def scheduler_length(sched: dict) -> Optional[int]:
    """The iteration an iteration-based scheduler's shape ends at, or None
    (no end: mmengine runs it to ``max_iters``).

    ``begin + total_steps`` (OneCycle), ``begin + T_max`` (cosine) or
    ``begin`` + the last milestone where the scheduler has one: those set
    its shape, ``end`` then only stops the stepping; else ``end``.
    """
    begin = sched.get('begin', 0) or 0
    for key in ('total_steps', 'T_max'):
        if _finite(sched.get(key)):
            return int(begin + sched[key])
    milestones = [m for m in sched.get('milestones') or [] if _finite(m)]
    if milestones:
        return int(begin + max(milestones))
    end = sched.get('end')
    return int(end) if _finite(end) else None


def warn_unfinished_schedule(cfg: Config,
                             options: Optional[dict] = None) -> None:
    """One ``warning:`` line when a scheduler runs past the last iteration
    (see the module's docstring for which)."""
    late = unfinished_schedulers(cfg)
    if not late:
        return
    iters = cfg.train_cfg.max_iters
    (i, kind, length), rest = late[0], late[1:]
    runs = f'param_scheduler.{i} ({kind}) runs to {length}'
    runs += ''.join(f' and param_scheduler.{j} ({k}) to {n}'
                    for j, k, n in rest)
    options = options or {}
    if _given(options, 'train_cfg.max_iters') is not _MISSING:
        fix = f'use --max-iters {iters} to rescale the whole schedule'
    elif any(k.split('.')[0] == 'param_scheduler' for k in options):
        fix = ('shorten the scheduler in --cfg-options or lengthen '
               'train_cfg.max_iters')
    else:
        fix = ('shorten the scheduler or lengthen train_cfg.max_iters in '
               f'{cfg.filename or "the config"}')
    print(f'warning: train_cfg.max_iters={iters} but {runs} iterations: the '
          f'lr schedule will not finish; {fix}')


# ------------------------------------------------------------------ helpers
def _schedulers(cfg: Config) -> list:
    schedulers = cfg.get('param_scheduler') or []
    return [schedulers] if isinstance(schedulers, dict) else list(schedulers)


def _short_warmup(sched: dict) -> str:
    """Fix the two warm-ups mmengine cannot run once rescaled; returns what
    changed, in words.

    OneCycle divides by zero when its warm-up is exactly one iteration
    (``pct_start * total_steps == 1``, e.g. 10 % of 10): it ends before the
    first step instead (the lr starts at the peak, as a one-iteration
    warm-up would). A LinearLR of one iteration never ramps (its lr stays at
    ``start_factor`` for the whole run): it starts at ``end_factor``, i.e.
    no warm-up.
    """
    if sched.get('by_epoch', True):
        return ''
    kind = str(sched.get('type'))
    if 'OneCycle' in kind:
        steps, pct = sched.get('total_steps'), sched.get('pct_start', 0.3)
        if _finite(steps) and math.isclose(pct * steps, 1.0):
            sched['pct_start'] = 0.5 / steps
            return f'pct_start {pct:g}->{sched["pct_start"]:g}'
    elif kind in ('LinearLR', 'LinearParamScheduler', 'LinearMomentum'):
        begin, end = sched.get('begin', 0), sched.get('end')
        start = sched.get('start_factor', 1.0 / 3)
        stop = sched.get('end_factor', 1.0)
        if _finite(end) and end - begin <= 1 and start != stop:
            sched['start_factor'] = stop
            return f'start_factor {start:g}->{stop:g} (no room to warm up)'
    return ''


def _describe(old: dict, new: dict, note: str) -> str:
    """``'PolyLR begin 200->2 end 4000->30'``, fields with the same change
    joined (``'OneCycleLR total_steps/end 1800->30'``)."""
    groups: Dict[Tuple[Any, Any], List[str]] = {}
    for key in ('total_steps', 'T_max', 'step_size', 'begin', 'end',
                'milestones'):
        if key in old and old[key] != new.get(key):
            groups.setdefault((_text(old[key]), _text(new.get(key))),
                              []).append(key)
    parts = [f'{"/".join(keys)} {a}->{b}' for (a, b), keys in groups.items()]
    parts += [note] if note else []
    return f'{new.get("type")} {" ".join(parts)}' if parts else ''


def _text(value) -> str:
    return ','.join(map(str, value)) if isinstance(value, (list, tuple)) \
        else str(value)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _get(cfg: Config, key: str):
    node: Any = cfg
    for part in key.split('.'):
        node = node.get(part) if hasattr(node, 'get') else None
        if node is None:
            return None
    return node


def _set(cfg: Config, key: str, value) -> None:
    *parents, last = key.split('.')
    node: Any = cfg
    for part in parents:
        node = node[part]
    node[last] = value


def _given(options: dict, key: str):
    """The value ``options`` give ``key`` (directly or inside a dict given
    for a parent key), else ``_MISSING``."""
    for name, value in options.items():
        if name == key:
            return value
        if key.startswith(name + '.'):
            node = value
            for part in key[len(name) + 1:].split('.'):
                if not isinstance(node, dict) or part not in node:
                    node = _MISSING
                    break
                node = node[part]
            if node is not _MISSING:
                return node
    return _MISSING
