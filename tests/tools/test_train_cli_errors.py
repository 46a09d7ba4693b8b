"""Bad input to the tools: one ``error:`` line naming the file or key and the
fix, exit status 2, no traceback (unless ``--debug``), nothing overwritten.

Most cases call the tools' ``main`` through ``run_cli`` in this process (the
code ``tools/train.py`` runs, without a Python start-up per case); the
subprocess cases run ``tools/*.py`` itself.
"""
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import cv2
import numpy as np
import pytest
import torch
from helpers import (FAST_ENV, TINY_RESNET18_UNET, assert_one_line_error,
                     run_tool)

from custom_modules.datasets import DatasetError
from custom_modules.tools import train
from custom_modules.common.errors import run_cli

CONFIG = 'configs/pets/resnet18_unet.py'
SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2',
         'train_dataloader.batch_size=2']


def train_args(root, work, *extra, options=()):
    return [CONFIG, '--data-root', str(root), '--work-dir', str(work),
            '--pretrained', 'none', '--no-clearml', *map(str, extra),
            '--cfg-options', *TINY_RESNET18_UNET, *SHORT, *options]


def cli(main, argv, capsys):
    """Exit status and ``error:`` lines of ``main`` run as the tools run it."""
    with pytest.raises(SystemExit) as done:
        run_cli(main, argv)
    out = capsys.readouterr()
    assert 'Traceback' not in out.out + out.err
    errors = [line for line in out.err.splitlines()
              if line.startswith('error:')]
    return done.value.code, errors


class _RefusingServer(BaseHTTPRequestHandler):
    """A ClearML API server that answers but refuses every key."""

    def do_GET(self):  # noqa: N802
        self.send_response(200 if self.path.startswith('/debug.ping')
                           else 401)
        self.end_headers()
        self.wfile.write(b'{}')

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def odd_pets(tiny_pets, tmp_path_factory):
    """tiny_pets with a grayscale JPEG and an RGBA PNG (named .jpg)."""
    root = tmp_path_factory.mktemp('odd') / 'pets'
    shutil.copytree(tiny_pets, root)
    for split, name in (('train', 'train_000'), ('val', 'val_000')):
        path = root / 'img' / split / f'{name}.jpg'
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(path), gray)
    path = root / 'img' / 'train' / 'train_001.jpg'
    rgba = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2BGRA)
    path.write_bytes(cv2.imencode('.png', rgba)[1].tobytes())
    return root


@pytest.fixture(scope='module')
def trained(odd_pets, tmp_path_factory):
    """Two iterations on odd_pets with ClearML on and its server refusing
    the credentials; returns (work dir, tool output)."""
    httpd = HTTPServer(('127.0.0.1', 0), _RefusingServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    tmp = tmp_path_factory.mktemp('trained')
    conf = tmp / 'clearml.conf'
    conf.write_text(
        'api { api_server: "http://127.0.0.1:%d"\n'
        'credentials { access_key: "k", secret_key: "wrong" } }\n'
        % httpd.server_port)
    work = tmp / 'run'
    args = [a for a in train_args(odd_pets, work) if a != '--no-clearml']
    try:
        proc = run_tool('train.py', *args, env={
            **FAST_ENV, 'CLEARML_CONFIG_FILE': str(conf)})
    finally:
        httpd.shutdown()
    return work, proc.stdout + proc.stderr


def test_grayscale_rgba_and_refused_clearml_credentials_still_train(trained):
    work, output = trained
    assert 'best at iter 2: mJaccard' in output
    assert (work / 'iter_2.pth').is_file()
    assert 'refused the credentials (HTTP 401)' in output
    assert 'ClearML offline session:' in output


@pytest.fixture
def pets(tiny_pets, tmp_path):
    root = tmp_path / 'pets'
    shutil.copytree(tiny_pets, root)
    return root


def _break(root, case):
    """Damage a copy of tiny_pets; returns the file the error must name."""
    img, mask = root / 'img/val/val_001.jpg', root / 'labels/val/val_001.png'
    if case == 'image without mask':
        mask.unlink()
        return img
    if case == 'mask without image':
        img.unlink()
        return mask
    if case == 'empty split':
        for f in (root / 'img/val').iterdir():
            f.unlink()
        return root / 'img/val'
    if case == 'truncated image':
        img.write_bytes(img.read_bytes()[:500])
        return img
    if case == 'unreadable image':
        img.write_bytes(b'\x00' * 64)
        return img
    if case == 'mask values':
        cv2.imwrite(str(mask), np.full((64, 64), 9, np.uint8))
        return mask
    if case == 'sizes differ':
        cv2.imwrite(str(mask), np.zeros((32, 64), np.uint8))
        return mask
    raise ValueError(case)


@pytest.mark.parametrize('case,fix', [
    ('image without mask', 'add it or remove the image'),
    ('mask without image', 'add it or remove the mask'),
    ('empty split', 'no *.jpg images'),
    ('truncated image', 'copy it again or remove it'),
    ('unreadable image', 're-export it as JPEG'),
    ('mask values', 'fix the mask'),
    ('sizes differ', 'export the mask at the image size'),
])
def test_bad_data_is_one_line_before_the_run_starts(pets, tmp_path, capsys,
                                                    case, fix):
    named = _break(pets, case)
    work = tmp_path / 'work'
    code, errors = cli(train.main, train_args(pets, work), capsys)
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith(f'error: {named}') and fix in errors[0]
    assert not work.exists()  # stopped before the Runner made the work dir


def test_wrong_data_root(tmp_path, capsys):
    code, errors = cli(train.main, train_args(tmp_path / 'nowhere',
                                              tmp_path / 'w'), capsys)
    assert code == 2
    assert errors == [f'error: {tmp_path}/nowhere/img/train: image folder not '
                      'found; pass the dataset folder with --data-root PATH '
                      '(layout: img/<split>/*.jpg)']


def test_debug_shows_the_traceback(pets, tmp_path):
    _break(pets, 'mask values')
    with pytest.raises(DatasetError):
        run_cli(train.main, train_args(pets, tmp_path / 'w', '--debug'))


def test_missing_config_and_mistyped_option(tiny_pets, tmp_path, capsys):
    """(The option typo through tools/train.py itself.)"""
    args = train_args(tiny_pets, tmp_path / 'w')
    code, errors = cli(train.main, ['configs/pets/resnet19_unet.py',
                                    *args[1:]], capsys)
    assert code == 2 and errors == [
        'error: configs/pets/resnet19_unet.py: config not found; the pets '
        'configs are in configs/pets/ (e.g. configs/pets/resnet_unet.py)']
    proc = run_tool('train.py', *args, 'train_cfg.max_iter=5', check=False)
    assert_one_line_error(
        proc, "error: --cfg-options train_cfg.max_iter: IterBasedTrainLoop "
        "has no argument 'max_iter'; did you mean 'max_iters'?")


def test_truncated_image_through_tools_train(odd_pets, tmp_path):
    root = tmp_path / 'pets'
    shutil.copytree(odd_pets, root)
    named = _break(root, 'truncated image')
    proc = run_tool('train.py', *train_args(root, tmp_path / 'w'),
                    env=FAST_ENV, check=False)
    assert_one_line_error(proc, f'error: {named}: image file is truncated')


def test_resume_from_a_checkpoint_of_another_model(trained, odd_pets,
                                                   tmp_path, capsys):
    """--resume PATH / load_from: mmengine would load what fits and train
    on; the tool names the tensors that do not fit instead."""
    ckpt = trained[0] / 'iter_2.pth'
    work = tmp_path / 'w'
    code, errors = cli(train.main, train_args(
        odd_pets, work, '--resume', ckpt,
        options=['model.decode_head.num_classes=4']), capsys)
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith(f"error: {ckpt}: does not fit this config's "
                                'model; 2 tensors differ in shape')
    assert 'decode_head.conv_seg.weight (3, 32, 1, 1) vs (4, 32, 1, 1)' \
        in errors[0]
    assert not list(work.glob('*.pth'))
    code, errors = cli(train.main, train_args(
        odd_pets, work, options=[f'load_from={ckpt}',
                                 'model.decode_head.decoder_channels='
                                 '[64,32,32,32,16]']), capsys)
    assert code == 2 and 'decode_head' in errors[0] and 'vs' in errors[0]


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.fixture
def crafted(tmp_path):
    """A checkpoint that would run a shell command when unpickled."""
    marker = tmp_path / 'pwned'
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {}, 'meta': _RunsCode(marker)}, path)
    return path, marker


def test_crafted_checkpoint_is_refused_by_tools_test(crafted, tiny_pets,
                                                     tmp_path):
    path, marker = crafted
    proc = run_tool('test.py', CONFIG, path, '--data-root', tiny_pets,
                    '--work-dir', tmp_path / 'w', '--no-clearml',
                    '--cfg-options', *TINY_RESNET18_UNET, env=FAST_ENV,
                    check=False)
    assert_one_line_error(proc, f'error: {path}: refused to load, it pickles '
                          'posix.system')
    assert not marker.exists()


def test_crafted_pretrained_weights_are_refused(crafted, tiny_pets, tmp_path,
                                                capsys):
    path, marker = crafted
    args = train_args(tiny_pets, tmp_path / 'w')
    args[args.index('--pretrained') + 1] = str(path)
    code, errors = cli(train.main, args, capsys)
    assert code == 2 and errors[0].startswith(f'error: {path}: refused to '
                                              'load')
    assert not marker.exists()
    assert not list((tmp_path / 'w').glob('*.pth'))


def _checkpoints(work):
    """Checkpoint files and the pointer to the last one: name -> (mtime,
    bytes). (The config dump is rewritten by every run.)"""
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes())
            for p in [*work.glob('*.pth'), work / 'last_checkpoint']}


def test_nan_loss_stops_without_touching_saved_checkpoints(trained, odd_pets,
                                                           tmp_path):
    """Resume the 2-iteration run for 2 more with a broken normalisation
    (std 0 -> inf inputs -> NaN loss at iteration 3)."""
    work = tmp_path / 'run'
    shutil.copytree(trained[0], work)
    before = _checkpoints(work)
    assert {'iter_2.pth', 'last_checkpoint'} <= set(before)
    proc = run_tool('train.py', *train_args(
        odd_pets, work, '--resume', options=[
            'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=1',
            'model.data_preprocessor.std=[0,0,0]']),
        env=FAST_ENV, check=False)
    assert_one_line_error(
        proc, 'error: loss is not finite at iteration 3 (loss=nan',
        f'last good checkpoint: {trained[0]}/iter_2.pth',
        'optim_wrapper.optimizer.lr')
    assert _checkpoints(work) == before  # nothing written or replaced
