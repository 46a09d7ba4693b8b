"""Fixtures shared by the whole suite.

- ``real_pets_root``: ``<repo>/../shared/data/pets``. Tests that use it are
  skipped when it is absent, unless ``PETS_REQUIRE_REAL_DATA=1`` (set by
  ``.ci/run``), which turns the skip into a failure.
- ``tiny_pets``: a synthetic dataset in the pets layout, made per test
  session, so the suite runs in a fresh clone without ``../shared``.
- ClearML writes offline sessions under a temporary cache, never ``~``.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

# pytest-xdist workers share the cores: each worker's torch, and each tool
# it starts, gets its share of threads instead of every core (read when
# torch is imported, below). A thread count set by the caller stays.
_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
if _WORKERS > 1:
    os.environ.setdefault('OMP_NUM_THREADS', str(max(
        1, len(os.sched_getaffinity(0)) // _WORKERS)))

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_PETS = REPO.parent / 'shared' / 'data' / 'pets'

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'tests'))  # `import helpers` (tool runs)

# The plug-in entry point, as a config's custom_imports loads it: the
# compat patches first, then registration. Before any test module imports
# a plug-in package (mmseg.models needs the mmcv.ops stand-in).
import custom_modules.plugins  # noqa: E402,F401


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks
def pytest_collection_modifyitems(config, items):
    """How ``--dist loadgroup`` (pytest.ini) shares the tests out: each test
    goes to whichever worker is free, except the tests of a module that
    share a module-scoped fixture, which stay together on one worker so the
    fixture is built once."""
    for item in items:
        fixtures = getattr(item, '_fixtureinfo', None)
        if fixtures is None or item.get_closest_marker('xdist_group'):
            continue
        if any(defs and defs[-1].scope == 'module'
               for defs in fixtures.name2fixturedefs.values()):
            module = item.nodeid.split('::')[0]
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope='session')
def real_pets_root() -> Path:
    if (REAL_PETS / 'img' / 'train').is_dir():
        return REAL_PETS
    if os.environ.get('PETS_REQUIRE_REAL_DATA') == '1':
        pytest.fail(f'{REAL_PETS} is missing but PETS_REQUIRE_REAL_DATA=1')
    pytest.skip(f'real data not found at {REAL_PETS}')


def make_pets_dataset(root: Path, counts=None, size: int = 64,
                      seed: int = 0) -> Path:
    """Write a synthetic pets dataset: a cat disc or dog square per image.

    Image (size, size, 3) JPEG; mask uint8 with 0 background, 1 cat (disc),
    2 dog (square); the object's colour depends on its class, so a model can
    learn it. ``counts`` maps split -> number of images.
    """
    rng = np.random.default_rng(seed)
    for split, n in (counts or {'train': 8, 'val': 4}).items():
        (root / 'img' / split).mkdir(parents=True, exist_ok=True)
        (root / 'labels' / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = rng.integers(90, 160, (size, size, 3), dtype=np.uint8)
            mask = np.zeros((size, size), np.uint8)
            cls = 1 + i % 2
            c = rng.integers(size // 4, 3 * size // 4, 2)
            r = int(rng.integers(size // 8, size // 4))
            if cls == 1:
                cv2.circle(mask, (int(c[0]), int(c[1])), r, 1, -1)
            else:
                mask[c[1] - r:c[1] + r, c[0] - r:c[0] + r] = 2
            img[mask == 1] = (230, 120, 30)
            img[mask == 2] = (40, 140, 230)
            stem = f'{split}_{i:03d}'
            cv2.imwrite(str(root / 'img' / split / f'{stem}.jpg'), img)
            cv2.imwrite(str(root / 'labels' / split / f'{stem}.png'), mask)
    return root


@pytest.fixture(scope='session')
def tiny_pets(tmp_path_factory) -> Path:
    return make_pets_dataset(tmp_path_factory.mktemp('tiny_pets'))


@pytest.fixture(autouse=True, scope='session')
def _mmseg_scope():
    """Build mmseg modules by name, as configs do (default scope mmseg)."""
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)


@pytest.fixture(autouse=True, scope='session')
def _clearml_offline_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp('clearml_cache')
    old = os.environ.get('CLEARML_CACHE_DIR')
    os.environ['CLEARML_CACHE_DIR'] = str(cache)
    yield cache
    if old is None:
        os.environ.pop('CLEARML_CACHE_DIR', None)
    else:
        os.environ['CLEARML_CACHE_DIR'] = old


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No ClearML server configured: an empty clearml.conf and no
    credential, host or offline-mode variables (ClearML goes offline)."""
    empty = tmp_path / 'clearml.conf'
    empty.write_text('')
    for var in ('CLEARML_API_ACCESS_KEY', 'CLEARML_API_SECRET_KEY',
                'CLEARML_OFFLINE_MODE', 'CLEARML_API_HOST'):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv('CLEARML_CONFIG_FILE', str(empty))


@pytest.fixture(autouse=True)
def _no_offline_mode_leak():
    """``Task.set_offline(True)`` exports ``CLEARML_OFFLINE_MODE`` and
    ``Task.init`` exports ``CLEARML_PROC_MASTER_ID`` (a tool started later
    would then get a stub task); keep both from leaking into later tests
    and the tools they start."""
    keys = ('CLEARML_OFFLINE_MODE', 'TRAINS_OFFLINE_MODE',
            'CLEARML_PROC_MASTER_ID', 'TRAINS_PROC_MASTER_ID')
    saved = {k: os.environ.get(k) for k in keys}
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def own_signal_handlers():
    """Give SIGINT/SIGTERM back as they were: a run that ends in an error
    never reaches InterruptHook's after_run."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)
