"""Doctest collection for ``monitor``: a compiled module's examples run in the pure-Python pass.

pytest collects doctests from the ``.py`` file and refuses a module that was
imported from elsewhere (the compiled extension); ``make test`` runs these
doctests again with ``COLLATERAL_PURE_PYTHON=1``.
"""

from monitor import compiled

collect_ignore = ([str(compiled.source_path(m)) for m in compiled.HOT_MODULES]
                  if compiled.active() else [])
