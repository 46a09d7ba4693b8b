"""``AtomicLocalBackend``: mmengine's local file backend, writes atomic.

mmengine's ``LocalBackend.put``/``put_text`` open the target and write into
it, so a run killed while saving a checkpoint leaves a half-written
``iter_N.pth`` that breaks ``--resume``. This backend writes through
:func:`~custom_modules.compat.robustness.atomic_write` (a temporary file in
the same folder, flushed to disk, then ``os.replace``): the file is either
the old one or the complete new one. Everything else (reads, ``join_path``,
``remove``, ...) is ``LocalBackend``'s.

Registered as the mmengine file backend ``'atomic_local'`` (mmengine's
public ``register_backend``) when this module is imported, which
:mod:`custom_modules.plugins` does; the base runtime's checkpoint hook asks
for it::

    default_hooks = dict(checkpoint=dict(
        type='CheckpointHook', ...,
        backend_args=dict(backend='atomic_local')))

so ``CheckpointHook`` and ``Runner.save_checkpoint`` write checkpoints with
it. Code that calls ``runner.save_checkpoint`` itself passes
``backend_args=dict(backend='atomic_local')`` too. Only for local paths: a
hook that saves to a remote ``out_dir`` needs that store's backend instead.

Not a patch (mmengine's ``LocalBackend`` is untouched); it lives in
``compat`` beside :mod:`.robustness`, whose writer it uses.
"""
from __future__ import annotations

from mmengine.fileio import register_backend
from mmengine.fileio.backends import LocalBackend

from . import robustness

__all__ = ['AtomicLocalBackend', 'ATOMIC_BACKEND_ARGS']

#: The ``backend_args`` that make mmengine write with this backend.
ATOMIC_BACKEND_ARGS = dict(backend='atomic_local')


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """:class:`~mmengine.fileio.backends.LocalBackend` whose writes replace
    the target atomically (never a partial file, also on a full disk)."""

    def put(self, obj: bytes, filepath) -> None:
        """Write ``obj`` (bytes) to ``filepath``, atomically; missing
        folders are created."""
        # looked up at call time: tests watch robustness.atomic_write
        robustness.atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        """Write ``obj`` (text) to ``filepath`` in ``encoding``,
        atomically; missing folders are created."""
        robustness.atomic_write(filepath, obj.encode(encoding))
