"""`python -m registry_tui.tui`: the app on the settings from the environment."""

from __future__ import annotations

import sys

from registry_tui.core.config import settings_from_env
from registry_tui.core.exit_codes import ExitCode
from registry_tui.core.validation import ValidationError
from registry_tui.tui.app import run_tui


def main() -> int:
    try:
        settings = settings_from_env()
    except ValidationError as exc:
        print(f"registry: {exc.field}: {exc.message}", file=sys.stderr)
        return ExitCode.INVALID
    return run_tui(settings)


if __name__ == "__main__":
    sys.exit(main())
