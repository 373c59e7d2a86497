"""The store prepares a connection's keyspace through core/schema.py; the schema module knows a
connection only as a type, so the two never import each other at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import registry_tui.core.schema as schema


def runtime_imports(path: Path) -> set[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_schema_module_does_not_import_the_store_at_run_time() -> None:
    assert "registry_tui.core.store" not in runtime_imports(Path(schema.__file__))


def test_the_store_owns_nothing_of_the_schema_and_prepares_through_it() -> None:
    import registry_tui.core.store as store

    assert "registry_tui.core.schema" in runtime_imports(Path(store.__file__))
    assert not hasattr(store, "keyspace_replication")  # a keyspace's options: the schema's
    assert callable(schema.keyspace_replication)


def test_settings_do_not_import_the_config_file_module() -> None:
    """The config file's module (profiles, the saved theme) reads settings' rules; settings
    never reach back into it, not even inside a function."""
    import registry_tui.core.config as config
    import registry_tui.core.profiles as profiles

    assert "registry_tui.core.profiles" not in runtime_imports(Path(config.__file__))
    assert "registry_tui.core.config" in runtime_imports(Path(profiles.__file__))
    assert callable(profiles.load_theme) and not hasattr(config, "load_theme")
