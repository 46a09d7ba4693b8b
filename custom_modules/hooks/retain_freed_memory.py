"""Keep memory a training step frees for the next step (glibc malloc).

PyTorch's CPU tensors come from ``malloc``. With glibc's defaults, a step
that frees its activations can leave a large free block at the top of the
heap, which glibc hands back to the kernel (``M_TRIM_THRESHOLD``: twice the
largest block freed so far), and the next step's activations fault the same
pages in again, each zeroed by the kernel first: thousands of page faults
per training iteration, which slow the forward and backward passes. With
the two settings below a training run takes none once warm (measure it:
``page_faults_per_iter`` of ``benchmarks/throughput.py``; figures in
docs/benchmarks.md, section 2).
"""
from __future__ import annotations

import ctypes
import os

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

#: ``mallopt`` parameter numbers (glibc's ``malloc.h``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: Blocks up to this size come from the heap, whose freed memory is reused;
#: larger ones are mapped and unmapped per allocation. 32 MiB is the largest
#: value glibc accepts on 64-bit systems (its dynamic threshold's ceiling).
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024

#: Free memory at the top of the heap is returned to the kernel only above
#: this size: the largest ``int`` mallopt takes, i.e. practically never.
TRIM_THRESHOLD_BYTES = 2 ** 31 - 1


def _is_glibc() -> bool:
    """Whether this process runs on glibc (asked of the C library itself,
    not by scanning the interpreter's binary as ``platform.libc_ver``)."""
    try:
        return os.confstr('CS_GNU_LIBC_VERSION').startswith('glibc')
    except (AttributeError, ValueError, OSError):  # no confstr, or not glibc
        return False


def retain_freed_memory(mmap_threshold: int = MMAP_THRESHOLD_BYTES,
                        trim_threshold: int = TRIM_THRESHOLD_BYTES) -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` (bytes) for
    this process and the processes it forks later (data-loader workers).

    The process's resident memory then stays at its peak instead of falling
    between steps (docs/benchmarks.md has the peaks). Returns whether both were
    set: False where the C library is not glibc (macOS, Windows, musl),
    which keeps its own allocator's behaviour.
    """
    if not _is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], \
        ctypes.c_int
    return (mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 and
            mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1)


@HOOKS.register_module()
class RetainFreedMemoryHook(Hook):
    """:func:`retain_freed_memory` before the run starts (training and
    testing), so each step reuses the memory the last one freed instead of
    faulting fresh pages in; numbers are unchanged. A no-op where the C
    library is not glibc. In ``default_hooks`` of
    ``configs/_base_/default_runtime.py``.

    Args:
        enable: False leaves malloc as it is (``--cfg-options
            default_hooks.retain_freed_memory.enable=False``).
    """

    priority = 'VERY_HIGH'

    def __init__(self, enable: bool = True) -> None:
        self.enable = enable

    def before_run(self, runner) -> None:
        if self.enable and not retain_freed_memory():
            print_log('RetainFreedMemoryHook: not glibc malloc; left as it '
                      'is', logger='current', level=10)
