"""Connection profiles: the config file, its mistakes (each one line naming file and line), and
the precedence flags > environment > profile > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry_tui.core.profiles import (
    ProfileError,
    config_path,
    layered_env,
    load_profile,
    profile_names,
    read_profiles,
)

GOOD = """\
# registry-tui connection profiles
[profiles.local]
hosts = "127.0.0.1"
keyspace = "registry"

[profiles.prod]
hosts = ["10.0.0.1", "10.0.0.2"]
port = 9043
local_dc = "dc1"
serial = "global"
replication = { dc1 = 3, dc2 = 3 }
username = "registry_app"
password_env = "PROD_REGISTRY_PASSWORD"
request_timeout = 8.5
"""


def write(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return {"REGISTRY_CONFIG": str(path)}


def test_the_config_file_lives_in_the_users_config_directory(tmp_path: Path) -> None:
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "registry-tui" / "config.toml"
    )
    assert config_path({"REGISTRY_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_profiles_are_read_as_the_variables_they_stand_in_for(tmp_path: Path) -> None:
    env = write(tmp_path, GOOD)
    assert profile_names(env) == ["local", "prod"]
    prod = load_profile("prod", env)
    assert prod.env == {
        "SCYLLA_HOSTS": "10.0.0.1,10.0.0.2",
        "SCYLLA_PORT": "9043",
        "SCYLLA_LOCAL_DC": "dc1",
        "SCYLLA_SERIAL": "global",
        "SCYLLA_REPLICATION": "dc1:3,dc2:3",
        "SCYLLA_USERNAME": "registry_app",
        "password_env": "PROD_REGISTRY_PASSWORD",
        "SCYLLA_REQUEST_TIMEOUT": "8.5",
    }


def test_no_file_means_no_profiles(tmp_path: Path) -> None:
    assert read_profiles(tmp_path / "missing.toml") == {}
    with pytest.raises(ProfileError, match=r"missing\.toml is not found"):
        load_profile("prod", {"REGISTRY_CONFIG": str(tmp_path / "missing.toml")})


def test_an_unknown_profile_names_the_ones_there_are(tmp_path: Path) -> None:
    env = write(tmp_path, GOOD)
    with pytest.raises(ProfileError) as caught:
        load_profile("staging", env)
    assert "no profile 'staging'" in caught.value.message
    assert "(profiles: local, prod)" in caught.value.message
    assert str(tmp_path / "config.toml") in caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[profiles.a]\nhosts = "x\n', 2, "not valid TOML"),
        ("[profiles.a]\nhosts = 127.0.0.1\n", 2, "not valid TOML"),
        ('[profiles.a]\nhosts = "h"\nprot = 9042\n', 3, "unknown setting 'prot'"),
        ('[profiles.a]\nhosts = "h"\n\npassword = "hunter2"\n', 4, "never read from this file"),
        ('[profiles.a]\npassword_env = "not a name"\n', 2, "environment variable's name"),
        ("[profiles.a]\nport = true\n", 2, "wrong kind"),
        ('[profiles.a]\nhosts = "h"\n[profiles.b]\nhosts = [1, 2]\n', 4, "wrong kind"),
        ('hosts = "h"\n', 1, "unknown setting 'hosts'"),
    ],
)
def test_every_mistake_is_one_line_naming_the_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    env = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile("a", env)
    message = caught.value.message
    assert f"config.toml, line {line}:" in message
    assert words in message
    assert "\n" not in message
    assert "hunter2" not in message


def test_the_environment_wins_over_the_profile(tmp_path: Path) -> None:
    prod = load_profile("prod", write(tmp_path, GOOD))
    env = {"SCYLLA_KEYSPACE": "ks_env", "SCYLLA_PORT": "", "PROD_REGISTRY_PASSWORD": "s3cret"}
    merged = layered_env(prod, env)
    assert merged["SCYLLA_KEYSPACE"] == "ks_env"  # not in the profile: the environment's
    assert merged["SCYLLA_PORT"] == "9043"  # set but empty: the profile's
    assert merged["SCYLLA_HOSTS"] == "10.0.0.1,10.0.0.2"
    assert merged["SCYLLA_PASSWORD"] == "s3cret"  # from the variable the profile names
    assert "password_env" not in merged
    merged = layered_env(prod, {**env, "SCYLLA_HOSTS": "192.0.2.9", "SCYLLA_PASSWORD": "p"})
    assert merged["SCYLLA_HOSTS"] == "192.0.2.9"
    assert merged["SCYLLA_PASSWORD"] == "p"


def test_a_password_variable_that_is_not_set_is_named(tmp_path: Path) -> None:
    prod = load_profile("prod", write(tmp_path, GOOD))
    with pytest.raises(ProfileError, match=r"\$PROD_REGISTRY_PASSWORD, which is not set"):
        layered_env(prod, {})


def test_the_profile_comes_from_the_flag_or_registry_profile(tmp_path: Path) -> None:
    from registry_tui.core.config import settings_from_env
    from registry_tui.core.profiles import profile_env

    env = {**write(tmp_path, GOOD), "PROD_REGISTRY_PASSWORD": "s3cret"}
    assert settings_from_env(profile_env(None, env)).hosts == ("127.0.0.1",)  # defaults
    chosen = settings_from_env(profile_env("prod", env))
    assert chosen.hosts == ("10.0.0.1", "10.0.0.2")
    assert chosen.port == 9043
    assert chosen.password == "s3cret"
    by_variable = settings_from_env(profile_env(None, {**env, "REGISTRY_PROFILE": "local"}))
    assert by_variable.keyspace == "registry"
    with pytest.raises(ProfileError, match="no profile 'nope'"):
        profile_env(None, {**env, "REGISTRY_PROFILE": "nope"})
