"""Detectors, alerts and webhooks. Importing it loads the compiled hot path if it is fresh
(``monitor.compiled``)."""

from monitor.compiled import install as _install

_install()
