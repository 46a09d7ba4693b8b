"""RetainFreedMemoryHook: a freed step's memory is reused, not faulted in
again (glibc only)."""
import subprocess
import sys

import pytest

from custom_modules.hooks import RetainFreedMemoryHook
from custom_modules.hooks import retain_freed_memory as module  # the file

GLIBC = module._is_glibc()

# A training step in miniature: 60 tensors of 64 KiB to 18 MiB, written, at
# most 12 alive at a time (freed in a seeded random order), then all freed.
# Prints the page faults of steps 4 to 8 together.
STEPS = '''
import random, resource, sys, torch
if sys.argv[1] == 'retain':
    from custom_modules.hooks.retain_freed_memory import retain_freed_memory
    assert retain_freed_memory()
SIZES = [64 << 10, 1 << 20, 3 << 20, 9 << 20, 18 << 20]
def step():
    rng, live = random.Random(1), []
    for _ in range(60):
        live.append(torch.ones(rng.choice(SIZES) // 4))
        if len(live) > 12:
            live.pop(rng.randrange(len(live)))
    live.clear()
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def faults_of_steps_4_to_8(mode: str) -> int:
    out = subprocess.run([sys.executable, '-c', STEPS, mode], check=True,
                         capture_output=True, text=True).stdout
    return int(out.split()[-1])


@pytest.mark.skipif(not GLIBC, reason='tunes glibc malloc only')
def test_a_step_reuses_the_memory_the_last_step_freed():
    # glibc's default hands freed memory back and faults it in again:
    # 18,400-48,900 faults (4 KiB pages) a step on a 2-core Xeon; retained,
    # 0 in most steps, and at most 9,216 in steps 4 to 8 together (the heap
    # still growing to fit a free order)
    assert faults_of_steps_4_to_8('default') > 40000
    assert faults_of_steps_4_to_8('retain') < 20000


def test_the_hook_sets_malloc_unless_disabled(monkeypatch):
    calls = []
    monkeypatch.setattr(module, 'retain_freed_memory',
                        lambda: calls.append(1) or True)
    RetainFreedMemoryHook().before_run(runner=None)
    RetainFreedMemoryHook(enable=False).before_run(runner=None)
    assert calls == [1]


def test_the_configs_ship_the_hook():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/pets/cpu_fast.py')
    assert cfg.default_hooks.retain_freed_memory.type == \
        'RetainFreedMemoryHook'
