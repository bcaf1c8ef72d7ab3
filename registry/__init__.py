"""The relational registry: lenders, loans, assets, devices, alerts, outbox, dead letters."""

from registry.db import Registry, RegistryError, default_sqlite_url
from registry.fleet_io import ImportSummary, export_fleet, import_fleet, import_fleet_file

__all__ = [
    "Registry",
    "RegistryError",
    "default_sqlite_url",
    "ImportSummary",
    "export_fleet",
    "import_fleet",
    "import_fleet_file",
]
