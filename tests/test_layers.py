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


ROOT = PACKAGE.parent
#: code above the plug-ins: it must import the entry point (compat patches,
#: registration) before mmseg or a plug-in, or mmseg fails on mmcv-lite
ABOVE = ('custom_modules/tools', 'benchmarks')
PLUGINS = 'custom_modules.plugins'


def _path_of(module: str):
    path = ROOT.joinpath(*module.split('.'))
    for candidate in (path.with_suffix('.py'), path / '__init__.py'):
        if candidate.is_file():
            return candidate
    return None


def _top_level_imports(path: Path):
    """Names imported by ``path``'s module-level statements."""
    body = ast.Module(body=[n for n in ast.parse(path.read_text()).body
                            if isinstance(n, (ast.Import, ast.ImportFrom))],
                      type_ignores=[])
    old_parse, ast.parse = ast.parse, lambda _text: body
    try:
        return [name for _, name in _imports(path)]
    finally:
        ast.parse = old_parse


def _loads_plugins(module: str, seen=None) -> bool:
    """Importing ``module`` imports the entry point first thing (itself, or
    through a project module it imports at module level)."""
    seen = set() if seen is None else seen
    if module == PLUGINS:
        return True
    path = _path_of(module)
    if path is None or module in seen or not module.startswith(
            ('custom_modules.tools', 'benchmarks')):
        return False
    seen.add(module)
    return any(_loads_plugins(name, seen) for name in
               _top_level_imports(path))


def _needs_the_stack(name: str) -> bool:
    """mmseg (its registries alone are safe) or a plug-in."""
    if name.startswith('mmseg.registry'):
        return False
    return name.split('.')[0] == 'mmseg' or _layer(name) in PLUG_INS


def _unpatched_imports(paths):
    wrong = []
    for path in paths:
        first_need = first_plugins = None
        for line, name in sorted(_imports(path)):
            if first_plugins is None and _loads_plugins(name):
                first_plugins = line
            if first_need is None and _needs_the_stack(name):
                first_need = (line, name)
        if first_need and (first_plugins is None or
                           first_plugins > first_need[0]):
            wrong.append(f'{path.relative_to(ROOT)}:{first_need[0]} imports '
                         f'{first_need[1]} before {PLUGINS}')
    return wrong


def test_code_above_the_plug_ins_loads_the_entry_point_first():
    paths = [p for folder in ABOVE for p in sorted((ROOT / folder)
                                                   .rglob('*.py'))]
    wrong = _unpatched_imports(paths)
    assert not wrong, '\n'.join(wrong)


def test_the_entry_point_checker_sees_a_missing_import(tmp_path,
                                                       monkeypatch):
    fake = tmp_path / 'benchmarks'
    fake.mkdir()
    (fake / 'bad.py').write_text('def main():\n'
                                 '    from custom_modules.hooks import x\n')
    (fake / 'good.py').write_text('def main():\n'
                                  '    import custom_modules.plugins\n'
                                  '    from mmseg.registry import MODELS\n')
    monkeypatch.setitem(globals(), 'ROOT', tmp_path)
    monkeypatch.setitem(globals(), 'PACKAGE', tmp_path / 'custom_modules')
    assert _unpatched_imports([fake / 'bad.py', fake / 'good.py']) == [
        'benchmarks/bad.py:2 imports custom_modules.hooks before '
        'custom_modules.plugins']
