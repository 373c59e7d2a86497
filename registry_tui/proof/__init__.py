"""Proof: operation histories and a linearizability checker. Pure logic: no driver, no front end.

The race engine records into a `HistoryRecorder`; `registry check` and the terminal app read a
history (`read_jsonl`), check it (`check_history`) and show each violation's excerpt as text
(`render_excerpt`). The rooms: `history` (operations, recording, JSON Lines), `models` (the state
machine of each kind of key), `search` (the search on one key), `windows` (sound shortcuts over
a key's time line), `excerpt` (a violation a person can read), `stale` (plain reads that saw
the impossible), `checker` (the report), `timeline` (the excerpt as text).
"""

from registry_tui.proof.checker import Budget, CheckReport, KeyVerdict, check_history
from registry_tui.proof.excerpt import Excerpt, ExcerptOperation
from registry_tui.proof.history import (
    History,
    HistoryError,
    HistoryRecorder,
    Operation,
    read_jsonl,
    write_jsonl,
)
from registry_tui.proof.models import MODELS, Model
from registry_tui.proof.search import LINEARIZABLE, UNDECIDED, VIOLATION
from registry_tui.proof.stale import StaleReads
from registry_tui.proof.timeline import render_excerpt

__all__ = [
    "LINEARIZABLE",
    "MODELS",
    "UNDECIDED",
    "VIOLATION",
    "Budget",
    "CheckReport",
    "Excerpt",
    "ExcerptOperation",
    "History",
    "HistoryError",
    "HistoryRecorder",
    "KeyVerdict",
    "Model",
    "Operation",
    "StaleReads",
    "check_history",
    "read_jsonl",
    "render_excerpt",
    "write_jsonl",
]
