"""Shared helpers below the plug-ins and the tools (no registries here):

- :mod:`.errors`: the one error hierarchy (``UserError`` and its kinds) and
  ``run_cli``, which turns them into one line on the terminal;
- :mod:`.weights`: loading model weights with a report of what does not fit;
- :mod:`.overlay`, :mod:`.worst`: pictures with legends, worst-N grids;
- :mod:`.curves`: reading a run's scalars, plotting learning curves.

The pets schema (classes, palette, mask IO, folder layout) is in
:mod:`custom_modules.data`.
"""
