"""The next step ``prepare_data.py`` prints is a command that works."""
import shlex
import subprocess
import sys
from pathlib import Path

from custom_modules.data.layout import check_command

REPO = Path(__file__).resolve().parents[2]


def run(args, cwd):
    return subprocess.run([sys.executable, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def printed_next(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return [ln for ln in proc.stdout.splitlines()
            if ln.startswith('next: ')][-1][len('next: '):]


def test_labelme_masks_only_next_step_passes_on_real_files(real_pets_root,
                                                           tmp_path):
    tools = REPO / 'tools'
    run([tools / 'prepare_data.py', 'course', real_pets_root, '--out',
         'pets'], tmp_path)
    relabel = ['labelme', real_pets_root / 'labelme' / 'train',
               '--masks-only', '--labels-dir', 'labels_relabel',
               '--split', 'train']
    # masks for 8 of the 198 photos already in pets/
    step = printed_next(run([tools / 'prepare_data.py', *relabel, '--out',
                             'pets'], tmp_path))
    assert step == ('python tools/check_dataset.py pets --labels-dir '
                    'labels_relabel --splits train --masked-only')
    argv = shlex.split(step)
    argv[1] = str(REPO / argv[1])
    check = run(argv[1:], tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert '8 masks checked in train; 0 hard errors' in check.stdout
    # masks into a folder without the photos: no check command that fails
    step = printed_next(run([tools / 'prepare_data.py', *relabel, '--out',
                             'pets_relabel'], tmp_path))
    assert 'check_dataset.py pets_relabel' not in step
    assert 'photos of these masks are not in pets_relabel/img/train' in step


def test_check_command_adds_what_the_layout_needs(tmp_path, make_dataset):
    root = make_dataset('course')
    assert check_command(root) == f'python tools/check_dataset.py {root}'
    stems = sorted(p.stem for p in (root / 'img' / 'train').glob('*.jpg'))
    (root / 'relabel' / 'train').mkdir(parents=True)
    (root / 'labels' / 'train' / f'{stems[0]}.png').rename(
        root / 'relabel' / 'train' / f'{stems[0]}.png')
    assert check_command(root, 'relabel', ['train']) == (
        f'python tools/check_dataset.py {root} --labels-dir relabel '
        '--splits train --masked-only')
    (root / 'img' / 'train' / f'{stems[0]}.jpg').unlink()
    assert check_command(root, 'relabel', ['train']) is None
