"""What ``tools/train.py`` and ``tools/test.py`` print on the terminal.

mmengine's Runner logs the whole environment, the whole config and its
hook table when it starts (about 400 lines), and a few deprecation warnings
about its own internals. Those records still go to the run's log file
(``<work_dir>/<timestamp>/<timestamp>.log``) but not to the terminal, which
gets a short header instead (:func:`log_header`: config, model, data,
device, precision, weights, work dir and where the full log is), then the
progress lines and the results. ``--debug`` keeps everything on the
terminal, as mmengine prints it.

Nothing at level ERROR or above is ever held back. On a CPU run the log's
``GPU number`` (mmengine writes the world size there) reads
``GPU number: 0 (CPU, N processes)``.
"""
from __future__ import annotations

import functools
import logging
import os.path as osp
from typing import Optional

from .. import plugins  # noqa: F401  (the patched, registered stack first)
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log
from mmengine.runner import Runner

from ..optim import training_precision
from .inference import describe_precision as describe_inference
from .inference import test_loop_precision

#: Starts of the Runner's messages that go to the log file only (the
#: environment message starts with a dashed line, stripped before matching).
FILE_ONLY = (
    'System environment:',  # Runner._log_env
    'Config:\n',  # Runner._log_env
    'Hooks will be executed in the following order:',
    'Distributed training is not used, all SyncBatchNorm',
    '"FileClient" will be deprecated in future',  # CheckpointHook
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class FileOnlyFilter(logging.Filter):
    """Drop the :data:`FILE_ONLY` records below ERROR (a console filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it
            return True
        return not message.lstrip('\n- ').startswith(FILE_ONLY)


def console_handlers(logger: logging.Logger) -> list:
    """``logger``'s terminal handlers (a FileHandler is a StreamHandler)."""
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler)
            and not isinstance(h, logging.FileHandler)]


def quiet_console(logger: logging.Logger) -> None:
    """Add :class:`FileOnlyFilter` to ``logger``'s terminal handlers (once)."""
    for handler in console_handlers(logger):
        if not any(isinstance(f, FileOnlyFilter) for f in handler.filters):
            handler.addFilter(FileOnlyFilter())


class _CpuGpuNumber(logging.Filter):
    """Rewrite the environment message's ``GPU number: N`` on a CPU run."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and 'GPU number: ' in record.msg \
                and 'Runtime environment:' in record.msg:
            head, _, rest = record.msg.partition('GPU number: ')
            n, _, tail = rest.partition('\n')
            plural = '' if n.strip() == '1' else 'es'
            record.msg = (f'{head}GPU number: 0 (CPU, {n} process{plural})'
                          f'\n{tail}')
        return True


class ToolRunner(Runner):
    """mmengine's Runner for ``tools/train.py`` and ``tools/test.py``.

    Its log on a CPU run reads ``GPU number: 0 (CPU, N processes)``.

    Args:
        quiet: keep the :data:`FILE_ONLY` records off the terminal (they
            still go to the log file); False for ``--debug``.
        config_in_run_folder: dump the config into the run's own
            ``<timestamp>/`` folder, so the work dir's copy (the training
            run's config, which ``tools/compare.py`` reads) stays what
            trained the checkpoints (``tools/test.py``).

    Build it with ``ToolRunner.from_cfg(cfg, quiet=...)``.
    """

    def __init__(self, *args, quiet: bool = True,
                 config_in_run_folder: bool = False, **kwargs) -> None:
        self.quiet = quiet
        self.config_in_run_folder = config_in_run_folder
        super().__init__(*args, **kwargs)

    @classmethod
    def from_cfg(cls, cfg, **options) -> 'ToolRunner':
        """:meth:`Runner.from_cfg` with this class's keyword ``options``
        (mmengine's builds ``cls(<the config's keys>)``; it gets a ``cls``
        that adds them)."""
        return Runner.from_cfg.__func__(functools.partial(cls, **options),
                                        cfg)

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        if self.quiet:
            quiet_console(logger)
        if not torch.cuda.is_available() and not any(
                isinstance(f, _CpuGpuNumber) for f in logger.filters):
            logger.addFilter(_CpuGpuNumber())
        return logger

    def dump_config(self) -> None:
        if not self.config_in_run_folder:
            return super().dump_config()
        name = (osp.basename(self.cfg.filename) if self.cfg.filename
                else f'{self.timestamp}.py')
        self.cfg.dump(osp.join(self.log_dir, name))


def build_runner(cfg: Config, verbose: bool = False,
                 testing: bool = False) -> Runner:
    """``Runner.from_cfg(cfg)``; ``verbose`` keeps the full startup log
    (environment, config, hooks) on the terminal too; ``testing`` leaves
    the work dir's config copy alone (:class:`ToolRunner`)."""
    return ToolRunner.from_cfg(cfg, quiet=not verbose,
                               config_in_run_folder=testing)


def log_file(runner: Runner) -> str:
    """The run's full log file."""
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return osp.join(runner.log_dir, f'{runner.timestamp}.log')


def describe_device(runner: Optional[Runner] = None) -> str:
    """``cuda (<name>)`` or ``cpu (<threads> threads)``, times the number
    of processes of a distributed run."""
    if torch.cuda.is_available():
        text = f'cuda ({torch.cuda.get_device_name(0)})'
    else:
        threads = torch.get_num_threads()
        text = f'cpu ({threads} thread{"s" if threads > 1 else ""})'
    world = runner.world_size if runner is not None else 1
    return text + (f' x {world} processes' if world > 1 else '')


def describe_precision(cfg: Config, training: bool) -> str:
    """How the run's forward passes compute: for training
    :func:`custom_modules.optim.training_precision`; for testing, how a
    config prepared by :func:`.inference.runner_inference_precision`
    infers (its words: :func:`.inference.describe_precision`)."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if not training:
        return describe_inference(*test_loop_precision(cfg, device))
    return training_precision(cfg, device)


def describe_model(model: torch.nn.Module) -> str:
    """Model class (wrappers first), backbone, head, classes, parameters."""
    from mmengine.model import is_model_wrapper
    n = sum(p.numel() for p in model.parameters())
    names = []
    while True:
        if not is_model_wrapper(model):
            names.append(type(model).__name__)
        inner = getattr(model, 'module', None)
        if not isinstance(inner, torch.nn.Module):
            break
        model = inner
    parts = [f'{type(getattr(model, k)).__name__} {k.replace("_", " ")}'
             for k in ('backbone', 'decode_head') if hasattr(model, k)]
    classes = getattr(getattr(model, 'decode_head', None), 'num_classes',
                      None)
    if classes:
        parts.append(f'{classes} classes')
    parts.append(f'{n / 1e6:.2f} M parameters')
    return ' > '.join(names) + ': ' + ', '.join(parts)


def describe_data(cfg: Config, loader: str) -> str:
    """Data root, split, mask folder and subset of ``cfg[loader]``."""
    dataset = (cfg.get(loader) or {}).get('dataset') or {}
    while dataset.get('dataset'):  # wrappers (RepeatDataset...)
        dataset = dataset['dataset']
    text = str(dataset.get('data_root', cfg.get('data_root', '?')))
    details = []
    if dataset.get('split'):
        details.append(f'split {dataset["split"]}')
    if dataset.get('labels'):
        details.append(f'masks {dataset["labels"]}/')
    if isinstance(dataset.get('indices'), int):
        details.append(f'first {dataset["indices"]} images')
    return text + (f' ({", ".join(details)})' if details else '')


def log_header(runner: Runner, title: str, config: str, weights: str,
               loader: str = 'train_dataloader') -> None:
    """A few lines saying what the run is (and where its full log is).

    Args:
        title: first line, e.g. ``'training'``.
        config: the config file as given on the command line.
        weights: where the weights come from, in words.
        loader: the dataloader whose data is described; training when
            ``'train_dataloader'``.
    """
    cfg = runner.cfg
    rows = [('config', config),
            ('model', describe_model(runner.model)),
            ('data', describe_data(cfg, loader)),
            ('device', describe_device(runner)),
            ('precision', describe_precision(
                cfg, training=loader == 'train_dataloader')),
            ('weights', weights),
            ('work dir', runner.work_dir),
            ('full log', f'{log_file(runner)} (environment, config, hooks; '
                         '--debug prints them here too)')]
    print_log('\n'.join([f'{title} {runner.experiment_name}'] + [
        f'  {name:<10}{value}' for name, value in rows]),
              logger=runner.logger)
