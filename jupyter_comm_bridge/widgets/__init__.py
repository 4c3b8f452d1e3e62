"""Jupyter widgets for pages with no widget manager of their own.

:mod:`.mode` (whether the bridge serves widgets, and their comm targets), :mod:`.captures`
(what Output widgets capture) and :mod:`.views` (the markup that mounts a widget's view).

The modules of widget libraries (docs/widget-modules.md): :mod:`.finder` (a kernel's module:
the kernel's environment, the server's, the CDN) over :mod:`.environments` (a kernelspec's
Jupyter data paths, from its interpreter), :mod:`.extensions` (what a data path holds of a
module, and its files, safely), :mod:`.cdn` and :mod:`.cdn_cache` (the opt-in CDN, kept on
disk) and :mod:`.semver` (npm ranges); :mod:`.handlers` serves both routes, whose answers and
names are in :mod:`.shapes`.
"""
