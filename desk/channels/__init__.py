"""Channel adapters, registered by configuration.

Each channel is one module here with an `ADAPTER`; `DESK_CHANNELS` lists the modules in use.
Adding a channel (TeleQ callback requests, say) is a new module, its name in the setting, and
its routing rules in the reference data.
"""

from __future__ import annotations

from importlib import import_module

from .base import Adapter

DEFAULT_CHANNELS = ("chat", "omaolo", "eform", "help_request")
_registry: dict[str, Adapter] = {}


def configure(modules: tuple[str, ...] | list[str] = DEFAULT_CHANNELS) -> None:
    """Load the adapters of the named modules (in this package or dotted paths)."""
    _registry.clear()
    for module in modules:
        name = module if "." in module else f"{__name__}.{module}"
        adapter: Adapter = import_module(name).ADAPTER
        _registry[adapter.name] = adapter


def get(channel: str) -> Adapter | None:
    """The adapter for a channel name, or None when there is no such channel."""
    if not _registry:
        configure()
    return _registry.get(channel)


def names() -> list[str]:
    """The channel names in use."""
    if not _registry:
        configure()
    return list(_registry)
