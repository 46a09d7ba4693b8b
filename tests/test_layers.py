"""The package's layers: imports only point down (read from the source).

    common, data      shared helpers and the pets schema (data: no torch)
    compat            version-checked patches (uses common)
    plug-ins          datasets evaluation hooks losses models optim
                      visualization (use the layers above in this list)
    plugins.py        the entry point configs name in custom_imports
    tools             the logic behind tools/*.py (may use everything)
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'custom_modules'
PLUG_INS = {'datasets', 'evaluation', 'hooks', 'losses', 'models', 'optim',
            'visualization'}
SHARED = {'common', 'data'}
ALLOWED = {
    'common': SHARED,
    'data': SHARED,
    'compat': SHARED | {'compat'},
    **{p: SHARED | {'compat'} | PLUG_INS for p in PLUG_INS},
}
STACK = ('torch', 'torchvision', 'mmengine', 'mmseg', 'mmcv')


def _imports(path: Path):
    """(line, absolute module name) of every import in ``path``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    package = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - node.level + 1])
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            yield node.lineno, name
            for alias in node.names:  # `from .. import plugins`
                yield node.lineno, f'{name}.{alias.name}'


def _layer(module: str):
    parts = module.split('.')
    if parts[0] != 'custom_modules' or len(parts) < 2:
        return None
    return parts[1]


def _modules(layer: str):
    return sorted((PACKAGE / layer).rglob('*.py'))


@pytest.mark.parametrize('layer', sorted(ALLOWED))
def test_a_layer_imports_only_from_the_layers_below(layer):
    wrong = []
    for path in _modules(layer):
        for line, name in _imports(path):
            target = _layer(name)
            if target in (None, layer) or target in ALLOWED[layer]:
                continue
            wrong.append(f'{path.relative_to(PACKAGE)}:{line} imports {name}')
    assert not wrong, '\n'.join(wrong)


@pytest.mark.parametrize('layer', ['data', 'common/errors.py'])
def test_data_tooling_and_errors_import_no_ml_stack(layer):
    paths = ([PACKAGE / layer] if layer.endswith('.py')
             else _modules(layer))
    heavy = [f'{p.relative_to(PACKAGE)}:{line} imports {name}'
             for p in paths for line, name in _imports(p)
             if name.split('.')[0] in STACK]
    assert not heavy, '\n'.join(heavy)


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule above can fail: a hook importing the tool layer is caught."""
    fake = tmp_path / 'custom_modules'
    (fake / 'hooks').mkdir(parents=True)
    (fake / 'hooks' / 'bad.py').write_text(
        'from ..tools.train import main\nfrom ..common import errors\n')
    monkeypatch.setitem(globals(), 'PACKAGE', fake)
    with pytest.raises(AssertionError, match=r'hooks/bad.py:1 imports '
                       r'custom_modules.tools.train'):
        test_a_layer_imports_only_from_the_layers_below('hooks')
