"""Jupyter widgets for pages with no widget manager of their own.

:mod:`.mode` (whether the bridge serves widgets, and their comm targets), :mod:`.captures`
(what Output widgets capture) and :mod:`.views` (the markup that mounts a widget's view).
"""
