"""``console.build_runner`` in process: what its Runner prints on the
terminal and writes to the log file, and where it dumps its config, for
each of ``verbose`` (``--debug``) and ``testing`` (``tools/test.py``).
The tools' own terminals: ``test_console_output.py``."""
import pytest
import torch
from mmengine.config import Config

from custom_modules.tools.console import build_runner, log_file

DUMP = ('System environment:', 'Config:', 'Hooks will be executed')
TRAINING_COPY = "# the training run's config\n"


def tiny_cfg(work_dir, name):
    """A config file ``tiny.py`` beside ``work_dir``: a tiny segmentor."""
    path = work_dir.parent / 'tiny.py'
    path.write_text(f"""
default_scope = 'mmseg'
work_dir = {str(work_dir)!r}
experiment_name = {name!r}
crop_size = (16, 16)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                           std=[1, 1, 1], size=crop_size),
    backbone=dict(type='ResNet', depth=18, init_cfg=None,
                  base_channels=8, stem_channels=8),
    decode_head=dict(type='ResNetUNetHead', in_channels=(8, 16, 32, 64),
                     decoder_channels=(8, 8, 8, 8, 8), num_classes=3,
                     loss_decode=dict(type='CrossEntropyLoss',
                                      avg_non_ignore=True)),
    test_cfg=dict(mode='whole'))
""")
    return Config.fromfile(str(path))


@pytest.mark.parametrize('verbose', [False, True])
@pytest.mark.parametrize('testing', [False, True])
def test_runner_terminal_log_and_config_copy(tmp_path, capsys, verbose,
                                             testing):
    work = tmp_path / 'run'
    work.mkdir()
    (work / 'tiny.py').write_text(TRAINING_COPY)
    runner = build_runner(tiny_cfg(work, f'console_{verbose}_{testing}'),
                          verbose=verbose, testing=testing)
    out = capsys.readouterr().out
    log = open(log_file(runner)).read()
    for text in DUMP + ('crop_size = (',):
        assert text in log, text  # the full log keeps everything
        assert (text in out) == verbose, text  # the terminal: --debug only
    if not torch.cuda.is_available():
        assert 'GPU number: 0 (CPU, 1 process)' in log
        assert 'GPU number: 1' not in log + out
    kept = (work / 'tiny.py').read_text()
    run_copy = work / runner.timestamp / 'tiny.py'
    if testing:  # the training run's copy stays; the test's in its folder
        assert kept == TRAINING_COPY
        assert 'crop_size = (' in run_copy.read_text()
    else:  # mmengine's place: the work dir
        assert 'crop_size = (' in kept
        assert not run_copy.exists()
