"""A package's names loaded from their modules on first use (PEP 562), so that importing the package (say,
for its settings) doesn't import the client library its probe needs."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence


def lazy_names(
    package: str, namespace: MutableMapping[str, object], homes: Mapping[str, Sequence[str]]
) -> Callable[[str], object]:
    """The package's module `__getattr__`: each name of `homes` (module -> names) loads its module when first
    asked for, and is then an ordinary attribute of the package."""
    module_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> object:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
