"""Scripts are not a package: their tests import them by path, once per module."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from pipeline.config import PROJECT_ROOT


def load_script(name: str) -> ModuleType:
    """`scripts/<name>.py` as a module, registered in `sys.modules` so its dataclasses resolve their types."""
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
