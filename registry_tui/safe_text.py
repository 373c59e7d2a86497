"""The one path by which untrusted text (anything a user typed or the database returned)
reaches a screen: never parsed as markup, and with every non-printable code point shown as an
escape (so a stored ESC sequence can never drive the terminal)."""

from __future__ import annotations

import unicodedata

from rich.text import Text

_SHOWN_AS_IS = {"Ll", "Lu", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No"}
_SHOWN_AS_IS |= {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs"}


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """`value` as a string in which every control or invisible character is escaped."""
    text = "" if value is None else str(value)
    out: list[str] = []
    for ch in text:
        if (keep_newlines and ch == "\n") or unicodedata.category(ch) in _SHOWN_AS_IS:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def safe_text(value: object, style: str = "", *, keep_newlines: bool = False) -> Text:
    """A rich Text holding `value` literally: brackets stay brackets, escapes stay visible."""
    return Text(printable(value, keep_newlines=keep_newlines), style=style)
