"""An excerpt as text: a timeline of bars, one row per process, then a line per operation.

Plain strings, no styling, so that the CLI and the terminal app draw the same picture. The text
holds what the history holds (user ids, error messages): a front end shows it through its one
helper for untrusted text.
"""

from __future__ import annotations

from registry_tui.proof.excerpt import Excerpt, ExcerptOperation
from registry_tui.proof.history import Operation
from registry_tui.proof.models import UNKNOWN, Model, model_for

OPERATIONS_DRAWN = 40  # more than this and only those around the stuck point are drawn
STATES_NAMED = 4


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def render_excerpt(excerpt: Excerpt, width: int = 72) -> list[str]:
    """The excerpt's heading, its timeline scaled to `width` columns, and one line per
    operation saying exactly what it asked, what it was told and when."""
    model = model_for(excerpt.key)
    assert model is not None
    items = list(excerpt.operations)
    hidden = len(items) - OPERATIONS_DRAWN
    if hidden > 0:
        items = _around_stuck(items, excerpt.stuck)
    lines = _heading(excerpt, model)
    lines += _bars(items, model, max(width, 20))
    if hidden > 0:
        lines.append(f"  … {hidden} more operation(s) of the excerpt not drawn")
    lines.append("")
    lines += [_detail(item, model) for item in items]
    return lines


def _heading(excerpt: Excerpt, model: Model) -> list[str]:
    count = len(excerpt.operations)
    if excerpt.whole_key:
        title = f"{excerpt.key}: no order of its {count} operations explains them"
    else:
        title = f"{excerpt.key}: no order of these {count} operations explains them"
    states = [model.describe_state(s) for s in excerpt.start_states]
    if len(states) > STATES_NAMED:
        named = ", ".join(states[:STATES_NAMED])
        states_text = f"one of {len(states)} states ({named}, …)"
    else:
        states_text = " or ".join(states)
    start = f"  starting state: {states_text}"
    if excerpt.before:
        start += f" (what the {excerpt.before} earlier operation(s) may have left)"
    lines = [title, start]
    if excerpt.stuck is not None:
        lines.append(f"  no order gets past the answer of #{excerpt.stuck}")
    for index in excerpt.suspects:
        lines.append(
            f"  #{index} was refused, yet had it taken effect these operations would have an order"
        )
    if excerpt.left_out:
        lines.append(
            f"  {excerpt.left_out} other operation(s) of this span left out: reads and refused "
            "writes not needed for the proof"
        )
    if excerpt.after:
        lines.append(f"  {excerpt.after} later operation(s) not shown: they cannot undo this")
    if any(item.crosses_edge for item in excerpt.operations):
        lines.append("  ~ crosses an edge of the excerpt: taken as may-have-taken-effect")
    return lines


def _around_stuck(items: list[ExcerptOperation], stuck: int | None) -> list[ExcerptOperation]:
    centre = next((i for i, item in enumerate(items) if item.op.index == stuck), len(items) - 1)
    start = max(0, min(centre - OPERATIONS_DRAWN // 2, len(items) - OPERATIONS_DRAWN))
    return items[start : start + OPERATIONS_DRAWN]


def _lanes(items: list[ExcerptOperation]) -> list[tuple[str, list[ExcerptOperation]]]:
    """One row per process; a second one where a process has overlapping operations (a call
    sent while its previous one was still unanswered)."""
    lanes: dict[int, list[list[ExcerptOperation]]] = {}
    for item in items:
        rows = lanes.setdefault(item.op.process, [])
        for row in rows:
            previous = row[-1].op
            answered = previous.complete if previous.outcome != UNKNOWN else None
            if answered is not None and answered < item.op.invoke:
                row.append(item)
                break
        else:
            rows.append([item])
    named: list[tuple[str, list[ExcerptOperation]]] = []
    for process in sorted(lanes):
        for number, row in enumerate(lanes[process]):
            named.append((f"p{process}" + "'" * number, row))
    return named


def _bars(items: list[ExcerptOperation], model: Model, width: int) -> list[str]:
    if not items:
        return []
    start = min(item.op.invoke for item in items)
    ends = [item.op.complete for item in items if item.op.complete is not None]
    end = max([start, *ends, *(item.op.invoke for item in items)])
    span = (end - start) or 1e-9
    lanes = _lanes(items)
    label_width = max(len(name) for name, _ in lanes)
    bar_width = width - label_width - 3

    def column(t: float) -> int:
        return round((t - start) / span * (bar_width - 1))

    axis_left, axis_right = f"{ms(start)} ms", f"{ms(end)} ms"
    gap = max(1, bar_width - len(axis_left) - len(axis_right))
    lines = [" " * (label_width + 3) + axis_left + " " * gap + axis_right]
    for name, row in lanes:
        cells = [" "] * bar_width
        for item in row:
            op = item.op
            open_ended = op.outcome == UNKNOWN
            first = column(op.invoke)
            last = bar_width - 1 if open_ended else max(first, column(op.complete or start))
            label = f"#{op.index} {model.describe_call(op)} {model.describe_answer(op)}"
            if item.crosses_edge:
                label = "~" + label
            cells[first : last + 1] = _bar(label, last - first + 1, open_ended)
        lines.append(f"{name:<{label_width}} | " + "".join(cells).rstrip())
    return lines


def _bar(label: str, length: int, open_ended: bool) -> str:
    """`[label----]`, or `[label--->` for an operation with no answer (it may still apply)."""
    close = ">" if open_ended else "]"
    if length == 1:
        return close if open_ended else "|"
    inner = length - 2
    return "[" + label[:inner].ljust(inner, "-") + close


def _detail(item: ExcerptOperation, model: Model) -> str:
    op: Operation = item.op
    answered = f"{ms(op.complete)} ms" if op.complete is not None else "no answer"
    line = (
        f"  #{op.index} p{op.process} {ms(op.invoke)} → {answered}: "
        f"{model.describe_call(op, full=True)} → {model.describe_answer(op, full=True)}"
    )
    if op.raw:
        line += f" (first told: {op.raw})"
    if op.error:
        line += f" (error: {op.error})"
    if item.crosses_edge:
        line += " ~"
    return line
