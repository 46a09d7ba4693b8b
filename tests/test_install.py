"""The package installs (``pip install -e .``, README's install line) and
README's "Use it from your own code" example runs as printed, from a folder
outside the checkout, on a checkpoint ``tools/train.py`` saved (issue 29)."""
import os
import re
import shutil
import subprocess
import sys
import tomllib

from helpers import FAST_ENV, REPO, run_tool

README = REPO / 'README.md'


def readme_example() -> str:
    """The first ``python`` block of README's "Use it from your own code"."""
    text = README.read_text()
    section = text.split('\n## Use it from your own code\n', 1)[1]
    section = section.split('\n## ', 1)[0]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_readme_install_line_installs_the_package():
    install = re.search(r'```bash\n(python3 -m venv .*)\n```',
                        README.read_text()).group(1)
    assert 'pip install -r requirements.txt' in install
    assert install.endswith('pip install -e .')
    assert re.search(r'pip install (--quiet )?-e \.', (REPO / '.ci' / 'run')
                     .read_text())  # CI installs as README says
    project = tomllib.loads((REPO / 'pyproject.toml').read_text())
    assert project['build-system']['build-backend'] == \
        'setuptools.build_meta'
    assert project['tool']['setuptools']['packages']['find']['include'] == [
        'custom_modules', 'custom_modules.*']
    assert project['tool']['setuptools']['dynamic']['dependencies'] == {
        'file': ['requirements.txt']}


def test_the_package_imports_outside_the_checkout(tmp_path):
    """Fails until ``pip install -e .`` has run in this environment."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(
        [sys.executable, '-c', 'import custom_modules.tools.arguments as a; '
         'print(a.__file__)'], cwd=tmp_path, capture_output=True, text=True,
        env=env, timeout=120)
    assert proc.returncode == 0, (
        'custom_modules is not importable outside the checkout: run '
        f'`pip install -e .` (README, Install)\n{proc.stderr[-1500:]}')
    assert proc.stdout.strip().startswith(str(REPO / 'custom_modules'))


def test_readme_example_runs_from_another_folder(tiny_pets, tmp_path):
    example = readme_example()
    assert len(example.strip().splitlines()) <= 8
    assert 'configs/pets/cpu_pretrained.py' in example
    train = tmp_path / 'train'
    run_tool('train.py', REPO / 'configs' / 'pets' / 'cpu_pretrained.py',
             '--data-root', tiny_pets, '--work-dir', train,
             '--pretrained', 'none', '--no-clearml', '--max-iters', 1,
             '--cfg-options', 'train_dataloader.batch_size=2',
             *[f'{loader}_dataloader.{key}'
               for loader in ('train', 'val', 'test')
               for key in ('num_workers=0', 'persistent_workers=False')],
             env=FAST_ENV)
    # the user's folder: the checkout's configs, a run's best checkpoint
    # and a photo, where the example names them
    user = tmp_path / 'user'
    (user / 'configs').mkdir(parents=True)
    (user / 'configs' / 'pets').symlink_to(REPO / 'configs' / 'pets')
    (user / 'configs' / '_base_').symlink_to(REPO / 'configs' / '_base_')
    run_dir = user / 'work_dirs' / 'cpu_pretrained'
    run_dir.mkdir(parents=True)
    best = next(train.glob('best_mJaccard_iter_*.pth'))
    shutil.copy(best, run_dir / best.name)
    photo = sorted((tiny_pets / 'img' / 'val').glob('*.jpg'))[0]
    shutil.copy(photo, user / 'photo.jpg')
    script = user / 'example.py'
    script.write_text(example + '\nimport custom_modules\n'
                      'print(custom_modules.__file__)\n'
                      'print(tuple(mask.shape), mask.dtype,\n'
                      '      sorted(mask.unique().tolist()))\n')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, str(script)], cwd=user,
                          capture_output=True, text=True, timeout=600,
                          env={**env, **FAST_ENV})
    assert proc.returncode == 0, proc.stderr[-3000:]
    where, shape = proc.stdout.strip().splitlines()[-2:]
    assert where == str(REPO / 'custom_modules' / '__init__.py')
    assert shape.startswith('(64, 64) torch.int64 [')
    classes = {int(c) for c in re.search(r'\[(.*)\]', shape).group(1)
               .split(',')}
    assert classes and classes <= {0, 1, 2}
