"""Named connection profiles from the user's config file.

    # ~/.config/registry-tui/config.toml   (or $REGISTRY_CONFIG)
    [profiles.local]
    hosts = "127.0.0.1"
    keyspace = "registry"

    [profiles.prod]
    hosts = ["10.0.0.1", "10.0.0.2"]
    local_dc = "dc1"
    username = "registry_app"
    password_env = "PROD_REGISTRY_PASSWORD"   # the password comes from this variable

A profile gives values for `Settings` fields; environment variables and flags override them
(flags > environment > profile > defaults). A password is never read from the file: a profile
names the environment variable that holds it. Every mistake in the file is one line that names
the file and the line.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry_tui.core.config import check_variable
from registry_tui.core.validation import ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# Keys a profile may hold -> the environment variable each one stands in for. The profile's
# values pass through the very parsers that read those variables, so the rules are one.
PROFILE_KEYS: Mapping[str, str] = {
    "hosts": "SCYLLA_HOSTS",
    "port": "SCYLLA_PORT",
    "keyspace": "SCYLLA_KEYSPACE",
    "replication_factor": "SCYLLA_RF",
    "replication": "SCYLLA_REPLICATION",
    "local_dc": "SCYLLA_LOCAL_DC",
    "serial": "SCYLLA_SERIAL",
    "username": "SCYLLA_USERNAME",
    "ssl_ca_file": "SCYLLA_SSL_CA_FILE",
    "ssl_cert_file": "SCYLLA_SSL_CERT_FILE",
    "ssl_key_file": "SCYLLA_SSL_KEY_FILE",
    "connect_timeout": "SCYLLA_CONNECT_TIMEOUT",
    "request_timeout": "SCYLLA_REQUEST_TIMEOUT",
}
PASSWORD_ENV_KEY = "password_env"
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROFILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class ProfileError(ValidationError):
    """The config file or the chosen profile cannot be used; the message names file and line."""

    def __init__(self, message: str) -> None:
        super().__init__("profile", message)


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    # The profile's values as the environment variables they stand in for (text, as typed).
    env: Mapping[str, str]


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """$REGISTRY_CONFIG, else $XDG_CONFIG_HOME/registry-tui/config.toml, else ~/.config/..."""
    env = os.environ if env is None else env
    explicit = env.get("REGISTRY_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "registry-tui" / "config.toml"


def _line_of(text: str, section: str, key: str | None = None) -> int:
    """The 1-based line of `[section]` (or of `key = ` inside it); 0 when not found."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\s*" + re.escape(section).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
    for number, line in enumerate(lines, start=1):
        if header.match(line):
            if key is None:
                return number
            for offset, inner in enumerate(lines[number:], start=number + 1):
                if re.match(r"^\s*\[", inner):
                    break
                if re.match(r"^\s*\"?" + re.escape(key) + r"\"?\s*=", inner):
                    return offset
            return number
    return 0


def _where(path: Path, line: int) -> str:
    return f"{path}, line {line}" if line else str(path)


def _as_text(value: Any) -> str | None:
    """A TOML value as the text its environment variable would hold."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):  # replication = { dc1 = 3, dc2 = 3 }
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return None


def read_profiles(path: Path) -> dict[str, Profile]:
    """Every profile of the file at `path` (none when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or _lineno_from_message(str(exc))
        reason = str(getattr(exc, "msg", "") or str(exc).split(" (at ")[0])
        raise ProfileError(f"{_where(path, line)}: not valid TOML ({reason})") from None
    unknown_top = sorted(set(data) - {"profiles", "tui"})  # [tui]: load_theme below
    if unknown_top:
        key = unknown_top[0]
        line = next(
            (n for n, s in enumerate(text.splitlines(), 1) if re.match(rf"^\s*\[?{key}\b", s)), 0
        )
        raise ProfileError(
            f"{_where(path, line)}: unknown setting {key!r} (profiles go under [profiles.NAME])"
        )
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ProfileError(f"{_where(path, 0)}: 'profiles' must be a table of [profiles.NAME]")
    return {name: _profile(path, text, name, body) for name, body in profiles.items()}


def _lineno_from_message(message: str) -> int:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else 0


def _profile(path: Path, text: str, name: str, body: Any) -> Profile:
    section = f"profiles.{name}"
    if not _PROFILE_NAME_RE.fullmatch(name):
        raise ProfileError(
            f"{_where(path, _line_of(text, section))}: profile name {name!r} must be 1-64 "
            "letters, digits, '-', '_' or '.'"
        )
    if not isinstance(body, dict):
        raise ProfileError(f"{_where(path, 0)}: profile {name!r} must be a table")
    env: dict[str, str] = {}
    for key, value in body.items():
        line = _line_of(text, section, key)
        if key == "password":
            raise ProfileError(
                f"{_where(path, line)}: a password is never read from this file; name the "
                f'environment variable that holds it with {PASSWORD_ENV_KEY} = "VARIABLE"'
            )
        if key == PASSWORD_ENV_KEY:
            if not isinstance(value, str) or not _ENV_NAME_RE.fullmatch(value):
                raise ProfileError(
                    f"{_where(path, line)}: {PASSWORD_ENV_KEY} must be an environment "
                    'variable\'s name, e.g. "PROD_REGISTRY_PASSWORD"'
                )
            env[PASSWORD_ENV_KEY] = value
            continue
        variable = PROFILE_KEYS.get(key)
        if variable is None:
            known = ", ".join(sorted((*PROFILE_KEYS, PASSWORD_ENV_KEY)))
            raise ProfileError(f"{_where(path, line)}: unknown setting {key!r} (known: {known})")
        as_text = _as_text(value)
        if as_text is None:
            raise ProfileError(f"{_where(path, line)}: {key} has a value of the wrong kind")
        try:  # the variable's own parser, so the mistake names this file and line
            check_variable(variable, as_text)
        except ValidationError as exc:
            raise ProfileError(f"{_where(path, line)}: {key}: {exc.message}") from None
        env[variable] = as_text
    return Profile(name, path, env)


def load_profile(name: str, env: Mapping[str, str] | None = None) -> Profile:
    """The profile called `name` from the config file, or one line saying why not."""
    path = config_path(env)
    profiles = read_profiles(path)
    if name not in profiles:
        if not path.exists():
            raise ProfileError(
                f"no profile {name!r}: the config file {path} is not found (create it, or point "
                "REGISTRY_CONFIG at yours)"
            )
        if not profiles:
            raise ProfileError(f"no profile {name!r}: {path} holds no profiles")
        names = ", ".join(sorted(profiles))
        raise ProfileError(f"no profile {name!r} in {path} (profiles: {names})")
    return profiles[name]


def profile_names(env: Mapping[str, str] | None = None) -> list[str]:
    """The names of the profiles in the config file, for pickers and completion."""
    return sorted(read_profiles(config_path(env)))


def layered_env(profile: Profile | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment a `Settings` is read from: the profile's values where the real
    environment leaves a variable unset or empty (flags are applied after this)."""
    merged = dict(env)
    if profile is None:
        return merged
    for variable, value in profile.env.items():
        if variable != PASSWORD_ENV_KEY and not env.get(variable):
            merged[variable] = value
    password_variable = profile.env.get(PASSWORD_ENV_KEY)
    if password_variable and not env.get("SCYLLA_PASSWORD"):
        if not env.get(password_variable):
            raise ProfileError(
                f"profile {profile.name!r} ({profile.path}) takes its password from "
                f"${password_variable}, which is not set"
            )
        merged["SCYLLA_PASSWORD"] = env[password_variable]
    return merged


def profile_env(name: str | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment settings are read from: `name`'s profile (else $REGISTRY_PROFILE's, else
    none) under the real environment."""
    env = dict(os.environ if env is None else env)
    chosen = name or env.get("REGISTRY_PROFILE") or None
    merged = layered_env(load_profile(chosen, env) if chosen else None, env)
    if chosen:
        merged["REGISTRY_PROFILE"] = chosen  # the settings name the profile they came from
    return merged


def overridden_by_env(profile: Profile, env: Mapping[str, str] | None = None) -> list[str]:
    """The profile's settings the environment overrides, as `key (VARIABLE=value)`."""
    env = os.environ if env is None else env
    keys = {variable: key for key, variable in PROFILE_KEYS.items()}
    return [
        f"{keys[variable]} ({variable}={env[variable]})"
        for variable in profile.env
        if variable in keys and env.get(variable)
    ]


# ---------------------------------------------------------------- the terminal app's theme
# Kept in the config file's [tui] table, beside the profiles:   [tui]
#                                                              theme = "nord"
_THEME_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TUI_HEADER_RE = re.compile(r"^\s*\[\s*tui\s*\]\s*(#.*)?$")
_THEME_LINE_RE = re.compile(r"^\s*\"?theme\"?\s*=")


def load_theme(env: Mapping[str, str] | None = None) -> str | None:
    """The theme saved in the config file, or None (no file, no [tui] theme, or a file that
    cannot be read: a theme is never a reason not to start)."""
    try:
        return _theme_in(config_path(env).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def _theme_in(text: str) -> str | None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    tui = data.get("tui")
    theme = tui.get("theme") if isinstance(tui, dict) else None
    return theme if isinstance(theme, str) and _THEME_NAME_RE.fullmatch(theme) else None


def save_theme(name: str, env: Mapping[str, str] | None = None) -> Path:
    """Write `theme = "name"` into the config file's [tui] table, leaving every other line as
    it is (comments and profiles included); returns the file. Raises ValidationError for a
    name that is not a theme's, and for a file that cannot be read or written."""
    if not _THEME_NAME_RE.fullmatch(name):
        raise ValidationError("theme", f"{name!r} is not a theme name")
    path = config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("theme", f"cannot read {path}: {exc}") from None
    setting = f'theme = "{name}"'
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if _TUI_HEADER_RE.match(line)), None)
    if header is None:
        lines += ([""] if lines and lines[-1].strip() else []) + ["[tui]", setting]
    else:
        end = next(
            (i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
            len(lines),
        )
        found = next((i for i in range(header + 1, end) if _THEME_LINE_RE.match(lines[i])), None)
        if found is None:
            lines.insert(header + 1, setting)
        else:
            lines[found] = setting
    updated = "\n".join(lines) + "\n"
    if _theme_in(updated) != name:  # e.g. a dotted `tui.theme = ...` elsewhere: touch nothing
        raise ValidationError("theme", f"{path}: cannot place [tui] theme; set it by hand")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(updated, encoding="utf-8")
        os.replace(partial, path)  # never a half-written config file
    except OSError as exc:
        raise ValidationError("theme", f"cannot write {path}: {exc}") from None
    return path
