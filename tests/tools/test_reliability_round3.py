"""Issue 28 (reliability round 3): the cases of tools/train.py and
tools/test.py that still failed.

1. a folder with only the test split, with the shipped configs;
2. the NaN guard names a checkpoint that holds only finite tensors and a
   learning-rate key that really sets the lr;
3. ``--pretrained FILE`` says how much it loads and refuses a file that
   fits nothing;
4. ``train_cfg.max_iters`` < 1 is refused before anything is written;
7. ``tools/test.py --out FILE`` (an existing file) is one line;
11. a ``pickle.dump`` file is named as such; ``tools/test.py`` checks the
    data and the checkpoint before it creates its work dir;
12. the temporary file of a killed checkpoint save is removed at start.
"""
import json
import pickle
import re
import shlex
import subprocess
import sys

import pytest
import torch
from helpers import (FAST_ENV, TINY_RESNET18_UNET, learning_rates, run_tool,
                     tiny_cfg_options)

from conftest import make_pets_dataset
from custom_modules.common.errors import run_cli
from custom_modules.tools import test, train

FAST = 'configs/pets/cpu_fast.py'


def cli(main, argv, capsys):
    """Exit status, ``error:`` lines and the whole output of ``main``."""
    with pytest.raises(SystemExit) as done:
        run_cli(main, [str(a) for a in argv])
    out = capsys.readouterr()
    text = out.out + out.err
    at = text.find('Traceback')
    assert at < 0, text[at:at + 12000][-2500:]
    errors = [line for line in out.err.splitlines()
              if line.startswith(('error:', 'interrupted:'))]
    return done.value.code, errors, out.out + out.err


def model_checkpoint(config, path, options=()):
    """An mmengine-style checkpoint of ``config``'s freshly built model."""
    from mmseg.registry import MODELS
    from custom_modules.tools.config import load_config, parse_cfg_options
    from custom_modules.tools.inference import no_pretrained_download
    cfg = load_config(config, parse_cfg_options(list(options)) or None)
    no_pretrained_download(cfg)
    model = MODELS.build(cfg.model)
    torch.save({'meta': {'iter': 1}, 'state_dict': model.state_dict()},
               str(path))
    return model


def fast_train_args(root, work, *extra, iters=1, options=()):
    return [FAST, '--data-root', root, '--work-dir', work, '--no-clearml',
            *extra, '--cfg-options', *TINY_RESNET18_UNET,
            *tiny_cfg_options(iters), *options]


# --- 1. a folder with only the test split, shipped configs -------------------


@pytest.mark.parametrize('config', ['configs/pets/cpu_pretrained.py',
                                    'configs/pets/resnet18_unet.py'])
def test_test_split_only_folder_with_the_shipped_configs(config, tmp_path,
                                                         capsys):
    """40 test photos at the configs' batch size of 4: mmseg's
    SegVisualizationHook reads runner.iter at the 10th batch, which built
    the train loop and its dataset (``img/train: image folder not
    found``)."""
    root = make_pets_dataset(tmp_path / 'holdout', {'test': 40})
    ckpt = tmp_path / 'model.pth'
    model_checkpoint(config, ckpt)
    work = tmp_path / 'w'
    proc = run_tool('test.py', config, ckpt, '--data-root', root, '--split',
                    'test', '--work-dir', work, '--no-clearml', env=FAST_ENV)
    results = json.loads((work / 'test_results.json').read_text())
    assert 0 <= results['metrics']['mJaccard'] <= 100
    assert not (root / 'img' / 'train').exists()


# --- 2. the NaN guard ---------------------------------------------------------


def _count_non_finite(node) -> int:
    """Floating-point tensors holding a NaN or an infinity, anywhere in a
    loaded checkpoint (weights, buffers, optimizer state)."""
    if torch.is_tensor(node):
        return int(node.is_floating_point() and
                   not bool(torch.isfinite(node).all()))
    if isinstance(node, dict):
        return sum(_count_non_finite(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return sum(_count_non_finite(v) for v in node)
    return 0


def test_nan_guard_names_a_finite_checkpoint_and_a_working_lr_key(
        tiny_pets, tmp_path, capsys):
    """A peak lr of 1e6 and a checkpoint every iteration: the loss grows
    huge but finite for a few iterations, then turns NaN, and the last
    checkpoints before that already hold inf BN statistics (how many
    tensors, and at which iteration, depends on the CPU's arithmetic). The
    guard saves nothing of the NaN iteration, names the newest checkpoint
    that holds only finite tensors, says why each newer one is passed over,
    and suggests the OneCycleLR peak (optimizer.lr would be overridden)."""
    work = tmp_path / 'nan'
    code, errors, _ = cli(train.main, fast_train_args(
        tiny_pets, work, '--pretrained', 'none', iters=12, options=[
            'param_scheduler.0.eta_max=1e6',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=20']), capsys)
    assert code == 2 and len(errors) == 1, errors
    line = errors[0]
    stop = int(re.match(r'error: loss is not finite at iteration (\d+) ',
                        line).group(1))
    assert 'nothing was saved for this iteration' in line
    assert not (work / f'iter_{stop}.pth').exists()
    # read every checkpoint back: the newest clean one is the good one
    counts = {i: _count_non_finite(torch.load(
        work / f'iter_{i}.pth', map_location='cpu', weights_only=False))
        for i in range(1, stop)}
    clean = [i for i, n in counts.items() if n == 0]
    assert clean, f'no clean checkpoint before the NaN: {counts}'
    good = max(clean)
    passed = list(range(good + 1, stop))
    assert passed, f'no checkpoint held inf before the NaN: {counts}'
    assert f'last good checkpoint: {work}/iter_{good}.pth (' in line
    for i in passed:
        assert f'{work}/iter_{i}.pth holds {counts[i]} non-finite tensors ' \
            '(backbone.' in line
    assert 'optim_wrapper.optimizer.lr' not in line
    option = re.search(r'--cfg-options (param_scheduler\.0\.eta_max=\S+),',
                       line).group(1)
    assert option == 'param_scheduler.0.eta_max=100000'
    assert 'optim_wrapper.clip_grad.max_norm=1.0' in line
    # pasted as printed, the option sets the lr (OneCycle starts at peak/25)
    proc = run_tool('train.py', *fast_train_args(
        tiny_pets, tmp_path / 'pasted', '--pretrained', 'none',
        options=[option]), env=FAST_ENV, check=False)
    assert learning_rates(proc.stdout + proc.stderr)[1] == \
        pytest.approx(1e5 / 25)


def _save(path, **tensors):
    torch.save({'meta': {}, 'state_dict': tensors}, str(path))


def test_last_finite_checkpoint_walks_back_or_says_none(tmp_path):
    from custom_modules.hooks.run_guards import (close_stopped_run_finite,
                                                 last_finite_checkpoint)
    _save(tmp_path / 'iter_2.pth', w=torch.ones(2))
    _save(tmp_path / 'iter_4.pth', w=torch.tensor([1.0, float('inf')]))
    _save(tmp_path / 'iter_6.pth', w=torch.tensor([float('nan')]))
    good, passed = last_finite_checkpoint(str(tmp_path / 'iter_6.pth'),
                                          str(tmp_path))
    assert good == str(tmp_path / 'iter_2.pth') and len(passed) == 2
    _save(tmp_path / 'iter_2.pth', w=torch.tensor([float('inf')]))
    runner = type('R', (), {'work_dir': str(tmp_path),
                            'visualizer': None})()
    text = close_stopped_run_finite(runner, str(tmp_path / 'iter_6.pth'))
    assert text.startswith('no saved checkpoint holds only finite weights')
    assert 'iter_2.pth holds 1 non-finite tensors (w)' in text


# --- 3. --pretrained FILE -----------------------------------------------------


def test_pretrained_file_that_fits_nothing_is_refused(tiny_pets, tmp_path,
                                                      capsys):
    """A whole cpu_fast checkpoint as --pretrained fills none of the 100
    encoder tensors; mmengine would train from scratch and report
    success."""
    whole = tmp_path / 'whole.pth'
    model = model_checkpoint(FAST, whole, TINY_RESNET18_UNET)
    work = tmp_path / 'w'
    code, errors, _ = cli(train.main, fast_train_args(
        tiny_pets, work, '--pretrained', whole), capsys)
    assert code == 2 and len(errors) == 1, errors
    assert errors[0].startswith(
        f'error: {whole}: --pretrained loads none of the 100 ResNet encoder '
        'tensors')
    assert errors[0].endswith('use --pretrained none --cfg-options '
                              f'load_from={whole}')
    assert not work.exists()
    # the suggested command, pasted, starts from the whole model's weights
    code, errors, _ = cli(train.main, fast_train_args(
        tiny_pets, work, '--pretrained', 'none',
        options=[f'load_from={whole}']), capsys)
    assert (code, errors) == (0, [])
    # an encoder file: one line with the count
    encoder = tmp_path / 'encoder.pth'
    torch.save(model.backbone.state_dict(), str(encoder))
    code, errors, out = cli(train.main, fast_train_args(
        tiny_pets, tmp_path / 'w2', '--pretrained', encoder), capsys)
    assert (code, errors) == (0, [])
    assert f'--pretrained {encoder}: loads 100 of 100 ResNet encoder ' \
        'tensors' in out


# --- 4. max_iters < 1 ---------------------------------------------------------


@pytest.mark.parametrize('iters', [0, -5])
def test_max_iters_below_one_is_refused_before_anything_is_written(
        tiny_pets, tmp_path, capsys, iters):
    work = tmp_path / 'w'
    code, errors, _ = cli(train.main, fast_train_args(
        tiny_pets, work, '--pretrained', 'none',
        options=[f'train_cfg.max_iters={iters}']), capsys)
    assert code == 2 and errors == [
        f'error: --cfg-options train_cfg.max_iters: {iters} iterations '
        'trains nothing; give a whole number >= 1, e.g. --cfg-options '
        'train_cfg.max_iters=500 (or --max-iters 500 to rescale the whole '
        'schedule)']
    assert not work.exists()


# --- 7. and 11. tools/test.py: nothing created before the checks ------------


@pytest.fixture(scope='module')
def tiny_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('r3') / 'tiny.pth'
    model_checkpoint(FAST, path, TINY_RESNET18_UNET)
    return path


def tool_args(ckpt, root, work, *extra):
    return [FAST, ckpt, '--data-root', root, '--work-dir', work,
            '--no-clearml', *extra, '--cfg-options', *TINY_RESNET18_UNET]


def test_out_that_is_a_file_is_one_line(tiny_pets, tiny_ckpt, tmp_path,
                                        capsys):
    out = tmp_path / 'masks'
    out.write_text('not a folder')
    work = tmp_path / 'w'
    for flag in ('--out', '--show-dir'):
        code, errors, _ = cli(test.main, tool_args(
            tiny_ckpt, tiny_pets, work, flag, out), capsys)
        assert code == 2 and errors == [
            f'error: {flag} {out}: {out} is a file, not a folder; give a '
            f'folder (new or existing) with {flag} DIR']
    assert not work.exists() and out.read_text() == 'not a folder'


def test_plain_pickle_checkpoint_is_named_and_creates_nothing(
        tiny_pets, tiny_ckpt, tmp_path, capsys):
    raw = tmp_path / 'weights.pkl'
    with open(raw, 'wb') as f:
        pickle.dump(torch.load(str(tiny_ckpt), weights_only=True), f)
    work = tmp_path / 'w'
    code, errors, _ = cli(test.main, tool_args(raw, tiny_pets, work), capsys)
    assert code == 2 and len(errors) == 1, errors
    assert errors[0].startswith(
        f'error: {raw}: not a checkpoint, a plain Python pickle '
        '(pickle.dump), not a torch.save file')
    assert not work.exists()
    # the printed fix, pasted, gives a checkpoint tools/test.py takes
    command = re.search(r're-save it with (python -c ".*?") and give',
                        errors[0]).group(1)
    subprocess.run([sys.executable, *shlex.split(command)[1:]], check=True)
    code, errors, _ = cli(test.main, tool_args(f'{raw}.pth', tiny_pets,
                                               work), capsys)
    assert (code, errors) == (0, [])


def test_tools_test_checks_data_and_checkpoint_before_its_work_dir(
        tiny_pets, tiny_ckpt, tmp_path, capsys):
    work = tmp_path / 'w'
    # no such split
    code, errors, _ = cli(test.main, tool_args(
        tiny_ckpt, tiny_pets, work, '--split', 'test'), capsys)
    assert code == 2 and 'img/test: image folder not found' in errors[0]
    assert not work.exists()
    # a checkpoint of another model (4 classes)
    other = tmp_path / 'other.pth'
    model_checkpoint(FAST, other, [*TINY_RESNET18_UNET,
                                   'model.decode_head.num_classes=4'])
    code, errors, _ = cli(test.main, tool_args(other, tiny_pets, work),
                          capsys)
    assert code == 2 and errors[0].startswith(
        f'error: {other}: does not fit this config\'s model')
    assert not work.exists()


# --- 12. the temporary file of a killed save ---------------------------------


def test_temporary_file_of_a_killed_save_is_removed_at_start(tiny_pets,
                                                             tmp_path):
    work = tmp_path / 'w'
    work.mkdir()
    stale = work / '.iter_2.pth.k3j_x9a2.tmp'  # atomic_write's name
    stale.write_bytes(b'PK half a checkpoint')
    kept = [work / '.notes.tmp', work / 'iter_2.pth.tmp', work / 'x.tmp']
    for path in kept:
        path.write_text('mine')
    proc = run_tool('train.py', *fast_train_args(
        tiny_pets, work, '--pretrained', 'none', '--resume'), env=FAST_ENV)
    assert not stale.exists() and all(p.exists() for p in kept)
    lines = [x for x in proc.stdout.splitlines() if 'temporary file' in x]
    assert len(lines) == 1 and lines[0].endswith(
        f'removed 1 temporary file of an interrupted checkpoint save: '
        f'{stale}')
    from custom_modules.compat.robustness import remove_stale_temporaries
    assert remove_stale_temporaries(str(work)) == []
