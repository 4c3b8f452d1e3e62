"""Jupyter widgets for pages with no widget manager of their own.

:mod:`.mode` (whether the bridge serves widgets, and their comm targets), :mod:`.captures`
(what Output widgets capture) and :mod:`.views` (the markup that mounts a widget's view).

The modules of widget libraries, found where the kernel has them and served: the
:mod:`.libraries` room (docs/widget-modules.md).
"""
