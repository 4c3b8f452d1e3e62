"""The modules of widget libraries: found where the kernel has them, and served.

A widget model names its frontend module (docs/widget-modules.md). :mod:`.finder`
(``ModuleFinder``) looks for it in the kernel's environment, the server's, and the opt-in CDN,
over :mod:`.environments` (a kernelspec's Jupyter data paths, from its interpreter),
:mod:`.extensions` (what a data path holds of a module, and its files, safely), :mod:`.cdn`
and :mod:`.cdn_cache` (``widget_cdn``, kept on disk) and :mod:`.semver` (npm ranges);
:mod:`.handlers` serves both routes, whose answers and names are in :mod:`.shapes`.
"""
