"""The terminal app's theme in the config file's [tui] table: saved beside the profiles without
disturbing them, read back next time, and never a reason not to start. Always a temporary
config directory, never the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_tui.core.profiles import load_theme, read_profiles, save_theme
from registry_tui.core.validation import ValidationError

PROFILES = """# my connections
[profiles.local]
hosts = "127.0.0.1"   # the dev node

[profiles.prod]
hosts = ["10.0.0.1", "10.0.0.2"]
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)}


def config(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "registry-tui" / "config.toml"


def test_no_file_no_theme_and_saving_creates_it(env: dict[str, str]) -> None:
    assert load_theme(env) is None
    assert save_theme("nord", env) == config(env)
    assert config(env).read_text() == '[tui]\ntheme = "nord"\n'
    assert load_theme(env) == "nord"


def test_saving_keeps_every_other_line_and_the_profiles_still_read(env: dict[str, str]) -> None:
    config(env).parent.mkdir(parents=True)
    config(env).write_text(PROFILES)
    save_theme("gruvbox", env)
    assert config(env).read_text() == PROFILES + '\n[tui]\ntheme = "gruvbox"\n'
    save_theme("textual-light", env)  # replaced in place, once
    text = config(env).read_text()
    assert text.count("theme =") == 1 and text.startswith(PROFILES)
    assert load_theme(env) == "textual-light"
    assert set(read_profiles(config(env))) == {"local", "prod"}


def test_an_existing_tui_table_gets_the_line(env: dict[str, str]) -> None:
    config(env).parent.mkdir(parents=True)
    config(env).write_text('[tui]  # the app\n\n[profiles.local]\nhosts = "127.0.0.1"\n')
    save_theme("dracula", env)
    text = config(env).read_text()
    assert text == '[tui]  # the app\ntheme = "dracula"\n\n[profiles.local]\nhosts = "127.0.0.1"\n'
    assert load_theme(env) == "dracula"


def test_registry_config_names_the_file(tmp_path: Path) -> None:
    env = {"REGISTRY_CONFIG": str(tmp_path / "elsewhere.toml"), "HOME": str(tmp_path)}
    save_theme("monokai", env)
    assert load_theme(env) == "monokai" and (tmp_path / "elsewhere.toml").exists()


@pytest.mark.parametrize(
    "text",
    ["[tui\ntheme = ", "[tui]\ntheme = 5\n", '[tui]\ntheme = "a b"\n', "\xff\xfe"],
)
def test_a_broken_or_odd_file_means_the_default_theme(env: dict[str, str], text: str) -> None:
    config(env).parent.mkdir(parents=True)
    config(env).write_bytes(text.encode("latin-1"))
    assert load_theme(env) is None


def test_a_bad_name_or_a_file_it_cannot_place_writes_nothing(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="not a theme name"):
        save_theme('x"\n[profiles.evil]', env)
    assert not config(env).exists()
    config(env).parent.mkdir(parents=True)
    dotted = 'tui.theme = "nord"\n'
    config(env).write_text(dotted)
    with pytest.raises(ValidationError, match="set it by hand"):
        save_theme("dracula", env)
    assert config(env).read_text() == dotted
