"""Loading a config and applying the tools' common overrides."""
from __future__ import annotations

import argparse
import difflib
import inspect
import os.path as osp
import re
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

from ..common.errors import UserError


def _init_params(type_name: str) -> Optional[Tuple[set, bool]]:
    """Argument names a registered class accepts, and whether it also takes
    arbitrary keywords (``**kwargs`` all the way up its bases); None for a
    type no registry knows."""
    from mmseg.registry import DATASETS, HOOKS, METRICS, MODELS, VISBACKENDS
    from mmengine.registry import (LOOPS, OPTIM_WRAPPERS, OPTIMIZERS,
                                   PARAM_SCHEDULERS)
    for registry in (MODELS, DATASETS, METRICS, HOOKS, VISBACKENDS, LOOPS,
                     OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS):
        cls = registry.get(type_name)
        if cls is not None:
            break
    else:
        return None
    params: set = set()
    for klass in inspect.getmro(cls):
        if '__init__' not in vars(klass):
            continue
        sig = inspect.signature(vars(klass)['__init__'])
        params |= {p for p in sig.parameters if p != 'self'}
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            return params, False
    return params, True


def _closest(key: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return f'; did you mean {match[0]!r}?' if match else ''


def _accepts(type_name: str, part: str) -> Optional[str]:
    """None if ``type_name``'s constructor takes ``part``, else the
    reason. A class that forwards ``**kwargs`` takes any new name except
    one that is a near-miss of a named argument (``intervall``)."""
    found = _init_params(type_name)
    if found is None:
        return None
    params, open_ended = found
    near = _closest(part, params - {'args', 'kwargs'})
    if part in params or (open_ended and not near):
        return None
    return f'{type_name} has no argument {part!r}{near}'


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options KEY=VALUE ...`` parser, with a one-line
    :class:`UserError` for what it cannot parse, before anything runs: an
    item without ``=``, and lists of dicts (``custom_hooks=[dict(...)]``),
    which belong in a child config."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key, sep, value = item.partition('=')
            if not sep or not key:
                raise UserError(f'--cfg-options {item}: give KEY=VALUE, '
                                'e.g. train_cfg.max_iters=500')
            if re.search(r'\bdict\(', value):
                raise UserError(
                    f'--cfg-options {key}: dicts inside a value cannot be '
                    'given on the command line; write a child config '
                    f"(_base_ = ['PARENT.py']) that sets {key}")
        super().__call__(parser, namespace, values, option_string)


def _check_value(key: str, old: Any, new: Any) -> None:
    """A number or switch in the config stays a number or switch."""
    if isinstance(old, bool) and not isinstance(new, bool):
        raise UserError(f'--cfg-options {key}={new}: expects True or False')
    if isinstance(old, (int, float)) and not isinstance(old, bool) and \
            isinstance(new, str):
        raise UserError(f'--cfg-options {key}={new}: expects a number '
                        f'(now {old})')


def parse_cfg_options(options: Sequence[str]) -> dict:
    """``KEY=VALUE`` strings -> dict, as ``--cfg-options`` parses them."""
    ns = argparse.Namespace()
    CfgOptionsAction(['--cfg-options'], 'cfg_options')(None, ns,
                                                       list(options))
    return ns.cfg_options or {}


#: Top-level keys the configs no longer have -> where that setting is now.
MOVED_KEYS = {'early_stopping': 'default_hooks.early_stopping'}


def check_cfg_options(cfg: Config, options: Dict[str, Any]) -> None:
    """Refuse ``--cfg-options`` keys that look like typos, before the run.

    A key must exist in the config, except an argument of a registered
    module (a dict with ``type``) that its class accepts, at any depth
    (``test_dataloader.dataset.data_prefix.img_path``), or a new top-level
    key with no close existing match. The error names the closest valid key.
    ``fold.*`` (``tools/kfold.py``'s fold metadata: ``fold.name``,
    ``fold.k``, ``fold.split_seed``) is accepted when the config has no
    ``fold``.
    """
    tree = cfg.to_dict()
    for key in options:
        parts = key.split('.')
        if parts[0] == 'fold' and len(parts) > 1 and 'fold' not in tree:
            continue
        if parts[0] in MOVED_KEYS and parts[0] not in tree:
            new = '.'.join([MOVED_KEYS[parts[0]], *parts[1:]])
            raise UserError(f'--cfg-options {key}: the config has no key '
                            f'{parts[0]!r}; use {new}')
        node: Any = tree
        for depth, part in enumerate(parts):
            where = '.'.join(parts[:depth]) or 'the config'
            if isinstance(node, (list, tuple)):
                if not (part.isdigit() and int(part) < len(node)):
                    raise UserError(f'--cfg-options {key}: {where} is a list '
                                    f'of {len(node)}; use an index')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                break
            if part in node:
                node = node[part]
                if depth == len(parts) - 1:
                    _check_value(key, node, options[key])
                continue
            last = depth == len(parts) - 1
            if last and depth == 0 and not _closest(part, node):
                break
            if isinstance(node.get('type'), str):
                refused = _accepts(node['type'], part)
                if refused is None:
                    break
                raise UserError(f'--cfg-options {key}: {refused}')
            raise UserError(f'--cfg-options {key}: {where} has no key '
                            f'{part!r}{_closest(part, node)}')


def fill_none_parents(cfg: Config, options: Dict[str, Any]) -> None:
    """A dotted key below a key whose value is None creates the dict.

    mmengine cannot merge ``optim_wrapper.clip_grad.max_norm=1.0`` into the
    base's ``clip_grad=None`` (a TypeError); an empty dict in its place
    makes the option give ``clip_grad=dict(max_norm=1.0)``.
    """
    from mmengine.config import ConfigDict
    for key in options:
        node: Any = cfg._cfg_dict
        for part in key.split('.')[:-1]:
            if isinstance(node, (list, tuple)):
                if not (part.isdigit() and int(part) < len(node)):
                    break
                node = node[int(part)]
                continue
            if not isinstance(node, dict) or part not in node:
                break
            if node[part] is None:
                dict.__setitem__(node, part, ConfigDict())
            node = node[part]


#: Suffixes ``Config.fromfile`` reads.
CONFIG_SUFFIXES = ('.py', '.yml', '.yaml', '.json')


def _base_files(path: str) -> list:
    """The ``_base_`` files a Python config names (relative to it), when
    they are plain strings; [] when it names none or cannot be parsed."""
    import ast
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            names = [value] if isinstance(value, str) else list(value)
            folder = osp.dirname(path)
            return [osp.normpath(osp.join(folder, n)) for n in names
                    if isinstance(n, str) and '::' not in n]
    return []


def _syntax_error(path: str, seen: Optional[set] = None
                  ) -> Optional[SyntaxError]:
    """The first syntax error in ``path`` or the ``_base_`` files it names
    (recursively), with its real file name; None when there is none."""
    seen = set() if seen is None else seen
    real = osp.realpath(path)
    if real in seen or not osp.isfile(path) or not path.endswith('.py'):
        return None
    seen.add(real)
    try:
        with open(path, encoding='utf-8') as f:
            compile(f.read(), path, 'exec')
    except SyntaxError as err:
        err.filename = path
        return err
    except (OSError, ValueError):
        return None
    for base in _base_files(path):
        found = _syntax_error(base, seen)
        if found is not None:
            return found
    return None


def _syntax_message(err: SyntaxError) -> str:
    text = (err.text or '').strip()
    where = f'{err.filename}:{err.lineno}' if err.lineno else err.filename
    shown = f' ({text})' if text else ''
    return f'{where}: {err.msg}{shown}; fix the config'


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` with a one-line error and typo-checked overrides.

    A path that is not a config file, or a Python syntax error in the config
    or one of its ``_base_`` files, is a :class:`UserError` naming the file
    (and line).
    """
    if not osp.isfile(path):
        raise UserError(f'{path}: config not found; the pets configs are in '
                        'configs/pets/ (e.g. configs/pets/resnet_unet.py)')
    if not path.lower().endswith(CONFIG_SUFFIXES):
        raise UserError(f'{path}: not a config file (.py, .yml, .yaml or '
                        '.json); give a config such as '
                        'configs/pets/resnet_unet.py')
    try:
        cfg = Config.fromfile(path)
    except SyntaxError as err:
        found = _syntax_error(path)
        if found is None:  # not in a file we can find: mmengine's location
            found = err
            if not err.filename or err.filename.startswith('<'):
                found.filename = path
        raise UserError(_syntax_message(found)) from err
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        fill_none_parents(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def dataloaders(cfg: Config) -> list:
    """The train/val/test dataloader dicts present in ``cfg``."""
    return [cfg[k] for k in LOADERS if cfg.get(k)]


def free_cpus(cores: Optional[int] = None,
              threads: Optional[int] = None) -> int:
    """Logical CPUs this process may use that torch's threads leave free
    (``cores``: the process's CPU affinity, ``threads``:
    ``torch.get_num_threads()``, unless given)."""
    import os

    import torch
    if cores is None:
        cores = len(os.sched_getaffinity(0)) \
            if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
    if threads is None:
        threads = torch.get_num_threads()
    return max(0, cores - threads)


def fit_loader_workers(cfg: Config, given: Iterable[str] = (),
                       gpu: Optional[bool] = None,
                       free: Optional[int] = None) -> Dict[str, int]:
    """Data-loader workers sized to the machine when there is no GPU.

    Without a GPU torch's threads compute on every core they are given,
    and a loader worker takes its CPU time from them: each training or
    test step then waits for the thread the worker interrupted, which cost
    more than loading in the training process does (docs/benchmarks.md,
    "How many data-loader workers"). So each loader's ``num_workers`` is
    capped at the CPUs torch leaves free (:func:`free_cpus`; none on a
    2-core machine, where loading then runs in the training process), with
    ``persistent_workers`` off where that leaves none. Loaders whose
    ``num_workers`` is in ``given`` (the ``--cfg-options`` keys) keep it;
    nothing changes with a GPU (``gpu``: ``torch.cuda.is_available()``
    unless given).

    Returns:
        loader name -> the workers it had, for each loader changed.
    """
    if gpu is None:
        import torch
        gpu = torch.cuda.is_available()
    if gpu:
        return {}
    cap = free_cpus() if free is None else free
    changed = {}
    for name in LOADERS:
        loader = cfg.get(name)
        if not loader or f'{name}.num_workers' in given:
            continue
        workers = int(loader.get('num_workers', 0) or 0)
        if workers > cap:
            changed[name] = workers
            loader.num_workers = cap
            if cap == 0:
                loader.persistent_workers = False
    return changed


def log_loader_workers(changed: Dict[str, int], cfg: Config) -> None:
    """One line saying which loaders :func:`fit_loader_workers` changed."""
    if not changed:
        return
    from mmengine.logging import print_log
    parts = ', '.join(f'{name} {old} -> {cfg[name].num_workers}'
                      for name, old in changed.items())
    print_log(f'data-loader workers: {parts} (no GPU, and a worker takes CPU '
              'time from every step where torch uses all cores); '
              '--cfg-options train_dataloader.num_workers=N overrides',
              logger='current')


def set_data(cfg: Config, data_root: Optional[str] = None,
             labels: Optional[str] = None) -> None:
    """Point every dataloader at ``data_root`` and mask folder ``labels``."""
    for loader in dataloaders(cfg):
        if data_root:
            loader.dataset.data_root = data_root
        if labels:
            loader.dataset.labels = labels
    if data_root:
        cfg.data_root = data_root


def set_pretrained(cfg: Config, pretrained: Optional[str]) -> None:
    """The one switch for encoder weights.

    ``None`` keeps the config's ImageNet weights (downloaded once into
    ``$TORCH_HOME``), ``'none'`` trains from scratch, anything else is a
    local file or URL loaded into the backbone.
    """
    if pretrained is None:
        return
    model = cfg.model
    model.pretrained = None
    model.backbone.init_cfg = None if pretrained == 'none' else dict(
        type='Pretrained', checkpoint=pretrained)
    if pretrained not in ('none',) and '://' not in pretrained and \
            not osp.isfile(pretrained):
        raise UserError(f'{pretrained}: --pretrained file not found; give a '
                        'checkpoint file, a URL, or none')


def pretrained_source(cfg: Config) -> Optional[str]:
    """The encoder weights ``cfg`` loads at start (file, URL or scheme)."""
    init = cfg.model.get('backbone', {}).get('init_cfg') or {}
    return cfg.model.get('pretrained') or init.get('checkpoint')


def fetch_pretrained(cfg: Config) -> None:
    """Download the config's ImageNet weights before the run starts.

    They land in mmengine's cache (``$TORCH_HOME/hub/checkpoints``), where
    the model's ``init_weights`` finds them. Without network the run trains
    from scratch instead, with one warning naming the two ways to choose
    explicitly (``--pretrained none`` or ``--pretrained FILE``).
    """
    import urllib.error

    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import CheckpointLoader
    source = pretrained_source(cfg)
    if not source or '://' not in source:
        return
    try:
        CheckpointLoader.load_checkpoint(source, map_location='cpu')
    except urllib.error.URLError as err:
        print_log(f'could not download {source} ({err.reason}): training '
                  'from scratch. Pass --pretrained none to choose that, or '
                  '--pretrained FILE for weights on disk', logger='current',
                  level=30)
        set_pretrained(cfg, 'none')


def use_clearml(cfg: Config, enabled: bool, task_name: Optional[str] = None,
                project: Optional[str] = None, tags=(),
                task_type: Optional[str] = None) -> None:
    """Drop the ClearML backend, or name its task/project/tags/type
    (``task_type='testing'`` for tools/test.py)."""
    backends = cfg.visualizer.vis_backends
    kept = []
    for backend in backends:
        if backend['type'] == 'PetsClearMLVisBackend':
            if not enabled:
                continue
            if task_name:
                backend['task_name'] = task_name
            if project:
                backend['project'] = project
            if tags:
                backend['tags'] = list(tags)
            if task_type:
                backend['task_type'] = task_type
        kept.append(backend)
    cfg.visualizer.vis_backends = kept
