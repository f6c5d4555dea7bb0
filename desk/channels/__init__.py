"""The inbound channels, each one package here, and the registry of those in use.

A channel is a package with `ADAPTER` (an `Adapter`, see base.py): its pydantic model of a
delivery (`models.py`), what a delivery becomes (title, content, deadline, routing facts,
weight), how its content looks on the item page (`content.html`) and its label. `DESK_CHANNELS`
lists the packages in use (or dotted paths of channels kept elsewhere); the app builds one
`Registry` from it and keeps it in `app.extensions["desk.channels"]`. Everything that knows
channels reads the registry: the API and its OpenAPI document, intake, the situation filters,
labels, assignment weights, the demo and the simulator.

Adding a channel (TeleQ callback requests, say) is a new package, its name in the setting, and
its routing rules in the reference data.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, create_model

from .base import NEEDED, SEMANTIC_RULES, Adapter, Delivery, problems

DEFAULT_CHANNELS = ("chat", "omaolo", "eform", "help_request", "callback")


class Registry:
    """The channels in use, with their delivery models narrowed to the reference data's
    municipalities and the configured languages."""

    def __init__(
        self,
        modules: Iterable[str],
        *,
        municipalities: Iterable[str],
        languages: Iterable[str],
    ) -> None:
        self.municipalities = tuple(municipalities)
        self.languages = tuple(languages)
        self._adapters: dict[str, Adapter] = {}
        self._models: dict[str, type[Delivery]] = {}
        for module in modules:
            name = module if "." in module else f"{__name__}.{module}"
            adapter: Adapter = import_module(name).ADAPTER
            self._adapters[adapter.name] = adapter
            self._models[adapter.name] = self._narrowed(adapter)

    def _narrowed(self, adapter: Adapter) -> type[Delivery]:
        known: Any = Literal[self.municipalities]
        described = "The resident's municipality"
        if adapter.municipality_always_required:
            field = (Annotated[known, NEEDED], Field(description=f"{described}; required"))
        else:
            field = (
                Annotated[known | None, NEEDED],
                Field(
                    None,
                    description=f"{described}; required when the resident is strongly "
                    "identified, else may be absent or null",
                ),
            )
        base = adapter.model
        return create_model(
            base.__name__,
            __base__=base,
            __doc__=f"{(base.__doc__ or '').strip()}\n\n{SEMANTIC_RULES}",
            __module__=base.__module__,
            municipality=field,
            language=(
                Literal[self.languages] | None,
                Field(
                    None,
                    description="The language the resident used and wants to be answered "
                    f"in; {self.languages[0]} when absent or null",
                ),
            ),
        )

    def get(self, channel: str) -> Adapter | None:
        """The adapter for a channel name, or None when there is no such channel."""
        return self._adapters.get(channel)

    def names(self) -> list[str]:
        """The channel names in use, in the configured order."""
        return list(self._adapters)

    def __iter__(self) -> Iterator[Adapter]:
        return iter(self._adapters.values())

    def model(self, channel: str) -> type[Delivery]:
        """The pydantic model a delivery on `channel` is validated with."""
        return self._models[channel]

    def problems(
        self,
        adapter: Adapter,
        payload: Any,
        *,
        now: datetime | None = None,
        text: bytes | None = None,
    ) -> list[dict[str, str]]:
        """Every problem of a delivery, as {field, message}; none when it keeps the contract.
        `now` is the moment it arrived (for "not in the future"; the clock's when None);
        `text`, the JSON it was read from, spares the look for unstorable characters when
        it has no escape that could be one."""
        return problems(self._models[adapter.name], payload, now=now, text=text)

    def weight(self, channel: str) -> int:
        """How much of a person's room an item of `channel` in progress takes."""
        adapter = self._adapters.get(channel)
        return adapter.weight if adapter else 1

    def template_folders(self) -> dict[str, Path]:
        """The folder of each channel that has a content template, by channel name."""
        return {
            adapter.name: Path(sys.modules[type(adapter).__module__].__file__).parent
            for adapter in self
            if adapter.template
        }
