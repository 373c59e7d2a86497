"""Many `registry` command lines through one child process, each as `registry` runs it.

A table of refusals needs the CLI's exit code, stdout and stderr for a hundred or more
command lines; a process each pays the interpreter's and the imports' start-up every time.
This child imports the CLI once and runs every command line through the entry point the
`registry` script calls (`registry_tui.cli.app:main`), with its own argv and its own captured
stdout and stderr; a traceback that escapes it is captured as the process would print it.

    python -m tests.cli_batch < cases.json > results.json

Input: a JSON list of argument lists. Output: a JSON list of
{"returncode": int, "stdout": str, "stderr": str}, in the same order.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # as the interpreter does with a message
    return 1


def _one(args: Sequence[str]) -> dict[str, object]:
    from registry_tui.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["registry", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # what the process would die of, printed as it would be
            traceback.print_exc()
            code = 1
    return {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def run_many(
    env: dict[str, str], cases: Sequence[Sequence[str]], timeout: float = 300
) -> list[subprocess.CompletedProcess[str]]:
    """Every command line in `cases`, run in one child process with `env`."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.cli_batch"],
        input=json.dumps([list(c) for c in cases]),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the batch process failed ({proc.returncode}):\n{proc.stderr}")
    results = json.loads(proc.stdout)
    assert len(results) == len(cases)
    return [
        subprocess.CompletedProcess(["registry", *c], r["returncode"], r["stdout"], r["stderr"])
        for c, r in zip(cases, results, strict=True)
    ]


if __name__ == "__main__":
    real_stdout = sys.stdout
    cases = json.load(sys.stdin)
    results = [_one(args) for args in cases]
    real_stdout.write(json.dumps(results))
    real_stdout.flush()
    os._exit(0)  # a driver thread left by a command must not hold the batch open
