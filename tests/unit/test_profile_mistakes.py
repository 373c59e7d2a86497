"""A profile's values are checked where they are read: a wrong one names the file, the line and
the key (never an environment variable nobody set); a missing file says it is not found; the
settings name their profile, and which of its values the environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_tui.core.config import settings_from_env
from registry_tui.core.profiles import ProfileError, load_profile, overridden_by_env, profile_env


def write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return {"REGISTRY_CONFIG": str(path)}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[profiles.a]\nkeyspace = "k"\nport = "abc"\n', 3, "port: must be a whole number"),
        ("[profiles.a]\nport = 70000\n", 2, "port: must be between 1 and 65535"),
        ("[profiles.a]\nhosts = 5\n", 2, "hosts: '5' is neither an IP address"),
        ('[profiles.a]\nserial = "sometimes"\n', 2, "serial: must be global"),
        ('[profiles.a]\nreplication = "dc1"\n', 2, "replication: 'dc1' is not DC:FACTOR"),
        ('[profiles.a]\nrequest_timeout = "soon"\n', 2, "request_timeout: must be a number"),
        ('[profiles.b]\nhosts = "h"\n\n[profiles.a]\nreplication_factor = 0\n', 5, "between 1"),
    ],
)
def test_a_wrong_value_names_the_file_the_line_and_the_key(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    env = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile("a", env)
    message = caught.value.message
    assert message.startswith(f"{tmp_path / 'config.toml'}, line {line}: "), message
    assert words in message
    assert "\n" not in message


def test_a_missing_config_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile("a", {"REGISTRY_CONFIG": str(tmp_path / "nope.toml")})
    assert "nope.toml is not found" in caught.value.message
    assert "holds no profiles" not in caught.value.message
    empty = write(tmp_path, "# nothing yet\n")
    with pytest.raises(ProfileError, match="holds no profiles"):
        load_profile("a", empty)


def test_the_settings_name_their_profile_and_what_the_environment_overrides(
    tmp_path: Path,
) -> None:
    env = write(tmp_path, '[profiles.a]\nport = 9043\nkeyspace = "k1"\n')
    assert settings_from_env(profile_env(None, env)).profile is None
    chosen = settings_from_env(profile_env("a", {**env, "SCYLLA_PORT": "1"}))
    assert (chosen.profile, chosen.keyspace, chosen.port) == ("a", "k1", 1)
    profile = load_profile("a", env)
    assert overridden_by_env(profile, {"SCYLLA_PORT": "1", "SCYLLA_HOSTS": "h"}) == [
        "port (SCYLLA_PORT=1)"
    ]
    assert overridden_by_env(profile, {"SCYLLA_PORT": ""}) == []
