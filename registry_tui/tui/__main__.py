"""`python -m registry_tui.tui`: the app on the settings from the environment."""

from __future__ import annotations

import sys

from registry_tui.core.config import settings_from_env
from registry_tui.core.failures import failure_of
from registry_tui.core.profiles import profile_env
from registry_tui.safe_text import printable
from registry_tui.tui.app import run_tui


def main() -> int:
    try:
        return run_tui(settings_from_env(profile_env(None)))
    except (Exception, KeyboardInterrupt) as exc:
        failure = failure_of(exc)  # worded as `registry` words it
        if failure is None:
            raise
        print(printable(f"error: {failure.message}"), file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
