"""Finds the platform's services through the `casework.services` entry point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from casework.runtime import ServiceDefinition
from casework.settings import ServiceSettings

SERVICE_NAMES = ("ifr", "cdf", "contract", "notification")


def load_definition(name: str) -> ServiceDefinition[ServiceSettings]:
    matches = [ep for ep in entry_points(group="casework.services") if ep.name == name]
    if not matches:
        known = sorted(ep.name for ep in entry_points(group="casework.services"))
        raise LookupError(f"unknown service {name!r}; installed: {', '.join(known)}")
    definition = matches[0].load()
    if not isinstance(definition, ServiceDefinition):
        raise TypeError(f"entry point {name} is not a ServiceDefinition")
    return definition
