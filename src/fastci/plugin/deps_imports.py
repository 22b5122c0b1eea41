"""Inside a worker: the module files an import statement names (the module, its parent
packages, the submodules in its ``from`` list), remembered per statement: call-heavy code
runs the same function-level imports hundreds of thousands of times."""

from __future__ import annotations

import sys
from typing import Any

from fastci.affected.units import SKELETON, unit_key


class ImportedFiles:
    """The files each import names, by its arguments and the module it returned."""

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def forget(self) -> None:
        """A module body ran: a name may now stand for another module, or for one at last."""
        self.known.clear()

    def of(
        self, module: object, name: str, package: str | None, level: int, fromlist: Any
    ) -> tuple[str, ...]:
        names = fromlist if fromlist is None or isinstance(fromlist, tuple) else tuple(fromlist)
        key = (id(module), name, package, level, names)
        try:
            return self.known[key]
        except KeyError:
            files = self.known[key] = imported_files(name, package, level, fromlist)
        except TypeError:  # a from list holding something unhashable: not remembered
            files = imported_files(name, package, level, fromlist)
        return files


def imported_files(name: str, package: str | None, level: int, fromlist: Any) -> tuple[str, ...]:
    """The skeleton keys of the imported module, its parent packages and any submodules
    in ``fromlist``, among the modules loaded now."""
    if level and package:
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        name = f"{base}.{name}" if name else base
    parts = name.split(".")
    modules = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    modules += [f"{name}.{sub}" for sub in fromlist or () if isinstance(sub, str)]
    found = (getattr(sys.modules.get(module), "__file__", None) for module in modules)
    return tuple(unit_key(filename, SKELETON) for filename in found if isinstance(filename, str))
