"""``tools/predict.py --out``: a file where the output folder should be is
one ``error:`` line, exit 2, before anything is read or written (issue 28
item 7)."""
import pytest

from helpers import REPO, assert_one_line_error, run_tool

from custom_modules.common.errors import run_cli
from custom_modules.tools import predict

CONFIG = REPO / 'configs' / 'pets' / 'cpu_fast.py'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The config's model, untrained, saved as mmengine saves one."""
    from mmengine.runner.checkpoint import save_checkpoint
    from mmseg.registry import MODELS

    from custom_modules.tools.config import load_config
    from custom_modules.tools.inference import (init_scope,
                                                no_pretrained_download)
    cfg = load_config(str(CONFIG))
    init_scope(cfg)
    no_pretrained_download(cfg)
    path = tmp_path_factory.mktemp('predict_ckpt') / 'model.pth'
    save_checkpoint(dict(state_dict=MODELS.build(cfg.model).state_dict(),
                         meta=dict(iter=0)), str(path))
    return path


@pytest.fixture
def out_file(tmp_path):
    path = tmp_path / 'predictions'
    path.write_text('keep me\n')
    return path


def _untouched(tmp_path, out_file):
    assert out_file.read_text() == 'keep me\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [out_file.name]


def test_out_is_a_file_is_one_line_before_anything_is_written(
        tiny_pets, tmp_path, out_file, checkpoint):
    proc = run_tool('predict.py', CONFIG, checkpoint,
                    tiny_pets / 'img' / 'val', '--out', out_file,
                    check=False)
    line = assert_one_line_error(proc, f'--out {out_file}:',
                                 'not a folder', ';')
    assert line.startswith(f'error: --out {out_file}: ')
    assert 'torch' not in proc.stderr  # refused before the stack loads
    _untouched(tmp_path, out_file)


def test_predict_main_refuses_a_file_as_out(tiny_pets, tmp_path, out_file,
                                            checkpoint, capsys):
    with pytest.raises(SystemExit) as done:
        run_cli(predict.main, [str(CONFIG), str(checkpoint),
                               str(tiny_pets / 'img' / 'val'),
                               '--out', str(out_file)])
    errors = [line for line in capsys.readouterr().err.splitlines()
              if line.startswith('error:')]
    assert done.value.code == 2
    assert errors == [f'error: --out {out_file}: exists and is not a '
                      'folder; give a folder (it is created if missing), '
                      'or move the file away']
    _untouched(tmp_path, out_file)
