"""Safe, readable checkpoint loading on torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10 calls
``torch.load`` without the argument, and its checkpoints pickle a
``HistoryBuffer`` and numpy arrays/scalars, which the safe unpickler
refuses. We keep ``weights_only=True`` and allow exactly the types that
mmengine checkpoints contain (:data:`CHECKPOINT_SAFE_GLOBALS`). Anything
else (for example a pickle that would call ``os.system``) is refused; the
local-file loader re-raises that as :class:`UnsafeCheckpointError` naming
the file and the offending global. A damaged file (empty, truncated, not a
checkpoint) is :class:`DamagedCheckpointError`, also one line naming it.
"""
from __future__ import annotations

import os.path as osp
import pickle
import re
import zipfile
from typing import Optional

import torch

from ..common.errors import UserError

__all__ = ['UnsafeCheckpointError', 'DamagedCheckpointError',
           'CHECKPOINT_SAFE_GLOBALS', 'checkpoint_damage',
           'check_checkpoint_file', 'load_checkpoint_file', 'install']


class UnsafeCheckpointError(UserError, pickle.UnpicklingError):
    """A checkpoint pickles an object outside the allow-list."""


def _history_buffer_getattr(obj, name: str):
    """Stand-in for ``builtins.getattr`` inside checkpoints.

    A ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``; only those look-ups are allowed.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'mean', 'current',
               *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'GLOBAL builtins.getattr({obj!r}, {name!r}) is not allowed')


def _checkpoint_safe_globals() -> list:
    """The non-tensor objects found in checkpoints mmengine writes.

    Established by saving checkpoints with mmengine's CheckpointHook and
    listing the GLOBAL opcodes of their pickles (``pickletools``):
    ``HistoryBuffer`` (with ``getattr(HistoryBuffer, 'min'|'max'|...)``),
    numpy arrays, dtypes and scalars. ``_codecs.encode`` and
    ``collections.OrderedDict`` are allowed by torch already.
    """
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer
    try:  # numpy >= 2 moved the pickle helpers to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
        np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64)]
    return [HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
            *dtype_classes, (_history_buffer_getattr, 'builtins.getattr')]


CHECKPOINT_SAFE_GLOBALS: list = []


class DamagedCheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be read: empty, truncated (an
    interrupted copy or download) or not a PyTorch checkpoint at all."""


#: What to do about a damaged checkpoint (the end of the error line).
DAMAGED_FIX = ('copy or download it again, or use another checkpoint '
               '(an earlier iter_*.pth of the run)')

#: ``torch.load`` errors that mean "not readable as a checkpoint".
_READ_ERRORS = (EOFError, pickle.UnpicklingError, KeyError, ValueError,
                IndexError, zipfile.BadZipFile, UnicodeDecodeError)


def checkpoint_damage(filename: str, err: Optional[BaseException] = None
                      ) -> Optional[str]:
    """Why ``filename`` is not a readable checkpoint, or None.

    Looks only at the file's structure (no unpickling): empty; a zip
    archive (``torch.save``'s format) without its central directory, i.e.
    cut short, or without a ``data.pkl``; neither a zip archive nor a
    pickle. ``err`` (what ``torch.load`` raised, if it was tried) turns a
    read error in a file that looks whole into "damaged".
    """
    size = osp.getsize(filename)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(2)
    if head == b'PK':
        try:
            with zipfile.ZipFile(filename) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return (f'the file is truncated ({size} bytes, the end of the '
                    'zip archive is missing)')
        if not any(n == 'data.pkl' or n.endswith('/data.pkl')
                   for n in names):
            return 'a zip archive but not a PyTorch checkpoint'
        if isinstance(err, _READ_ERRORS) or (
                isinstance(err, RuntimeError) and
                'PytorchStreamReader' in str(err)):
            return f'the file is damaged ({_first_line(err)})'
        return None
    if head[:1] != b'\x80':  # every pickle protocol >= 2 starts so
        return 'not a PyTorch checkpoint (the file does not start like one)'
    if _plain_pickle(filename):
        return PLAIN_PICKLE
    if isinstance(err, _READ_ERRORS):
        return ('the file is truncated or damaged, or not a PyTorch '
                'checkpoint')
    return None


#: What :func:`checkpoint_damage` says of a ``pickle.dump`` file.
PLAIN_PICKLE = 'a plain Python pickle (pickle.dump), not a torch.save file'

#: The number a pre-zip (``_use_new_zipfile_serialization=False``)
#: ``torch.save`` file pickles first.
_TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _plain_pickle(filename: str) -> bool:
    """True when the pickle ``filename`` starts with is not torch's magic
    number, i.e. a plain ``pickle.dump`` file, which ``torch.load`` cannot
    read (a legacy, pre-zip ``torch.save`` file pickles the number first).
    Only the first opcodes are read (:mod:`pickletools`: nothing is
    unpickled); False when they cannot be read (a truncated file: left to
    the loader)."""
    import pickletools
    try:
        with open(filename, 'rb') as f:
            for i, (op, arg, _) in enumerate(pickletools.genops(f)):
                if op.name in ('LONG1', 'LONG4', 'LONG'):
                    return arg != _TORCH_LEGACY_MAGIC
                if i >= 3 or op.name not in ('PROTO', 'FRAME'):
                    return True
    except Exception:  # noqa: BLE001 - cut short: cannot tell
        return False
    return False


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:120] if text else type(err).__name__


def check_checkpoint_file(filename: str) -> None:
    """Raise :class:`DamagedCheckpointError` when ``filename`` is empty,
    truncated or not a checkpoint (structure only, nothing is loaded)."""
    problem = checkpoint_damage(filename)
    if problem == PLAIN_PICKLE:
        raise DamagedCheckpointError(
            f'{filename}: not a checkpoint, {PLAIN_PICKLE} (torch.load '
            'cannot read it); if you trust its source, re-save it with '
            'python -c "import pickle, torch; torch.save(pickle.load(open('
            f"'{filename}', 'rb')), '{filename}.pth')\" and give "
            f'{filename}.pth, or use another checkpoint')
    if problem:
        raise DamagedCheckpointError(
            f'{filename}: damaged checkpoint, {problem}; {DAMAGED_FIX}')


def load_checkpoint_file(filename: str, map_location=None) -> dict:
    """``torch.load`` a local checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: no such file.
        DamagedCheckpointError: the file is empty, truncated or not a
            checkpoint (:func:`checkpoint_damage`); the message names it.
        UnsafeCheckpointError: the file pickles a type outside
            :data:`CHECKPOINT_SAFE_GLOBALS`; the message names it.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename}: checkpoint not found')
    check_checkpoint_file(filename)
    try:
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    except Exception as err:
        found = re.search(r'GLOBAL ([\w.]+(?:\(.*?\))?)', str(err))
        if isinstance(err, pickle.UnpicklingError) and found:
            raise UnsafeCheckpointError(
                f'{filename}: refused to load, it pickles {found.group(1)} '
                'which could run code; re-save only its state_dict from a '
                'trusted environment') from None
        problem = checkpoint_damage(filename, err)
        if problem:
            raise DamagedCheckpointError(
                f'{filename}: damaged checkpoint, {problem}; {DAMAGED_FIX}'
            ) from err
        raise


def load_from_local(filename: str, map_location=None) -> dict:
    """:func:`load_checkpoint_file` under the name mmengine prints
    (``Loads checkpoint by local backend from path: ...``)."""
    return load_checkpoint_file(filename, map_location)




def install() -> None:
    """Allow mmengine's checkpoint types and route local files (every
    path without a scheme) through :func:`load_checkpoint_file`."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if not CHECKPOINT_SAFE_GLOBALS:
        CHECKPOINT_SAFE_GLOBALS.extend(_checkpoint_safe_globals())
        torch.serialization.add_safe_globals(CHECKPOINT_SAFE_GLOBALS)
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_from_local)
