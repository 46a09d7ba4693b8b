"""The pets config zoo, in layers (imports only point down):

- :mod:`custom_modules.plugins`: the entry point configs name in
  ``custom_imports``; it applies :mod:`custom_modules.compat` and registers
  the plug-ins below in mmseg's registries.
- plug-ins: ``datasets``, ``evaluation``, ``hooks``, ``losses``, ``models``,
  ``optim``, ``visualization``.
- ``compat``: the version-checked patches to mmengine/mmcv-lite/torch.
- ``common``: shared helpers (errors, overlays, curves, weights).
- ``data``: the pets schema and the data tools (no torch).
- ``tools``: the logic behind ``tools/*.py`` (train, test, predict,
  k-fold, compare, curves), importable and tested directly.

Importing this package (or ``custom_modules.data``) patches and registers
nothing.
"""
