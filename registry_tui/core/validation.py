"""Every input rule of the registry, in one place. Pure functions, no I/O.

Each registry operation parses its request here (`validate_registration`,
`parse_profile_update`, `parse_user_listing`, ...); a front end calls the same parser to refuse
bad input before it connects, so a rule and its wording exist once.

The username rule (documented in the README): a username is NFKC-normalised and lower-cased,
and must then be 3-32 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit.
That lower-cased form is the name's *key*: uniqueness and lookups use it. What the person typed
(NFKC-normalised, case kept) is kept beside it and is what every screen shows.
The normalised form is what is stored and compared, so 'Agent-Cipher-007', 'agent-cipher-007'
and the full-width 'Ａｇｅｎｔ-Ｃｉｐｈｅｒ-007' are one name and only one of them can register.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

USERNAME_MIN, USERNAME_MAX = 3, 32
EMAIL_MAX = 254
LABEL_MAX = 64  # display name and dimension
BIO_MAX = 500
STATUSES = ("active", "inactive", "suspended")
VERSION_MAX = 2**31 - 1
PAGE_SIZE_MAX = 5000

_KEYSPACE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")
_USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_EMAIL_LOCAL_RE = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_EMAIL_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# Most addresses: a dotted local part of letters, digits, '_', '+' and '-', then DNS labels
# ending in one that starts with a letter (so it is not all digits).
_EMAIL_COMMON_RE = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
# Categories never accepted in stored text: controls, format characters (bidi overrides,
# zero-width joiners), surrogates, private use, unassigned, line/paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class ValidationError(ValueError):
    """One field that breaks its rule; the message is written for the person who typed it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Registration:
    """A registration request that passed every rule: the keys (`username`, `email`: the
    canonical forms that are unique) and the forms as typed, which are what is shown."""

    username: str
    email: str
    display_name: str
    dimension: str
    username_typed: str = ""
    email_typed: str = ""


@dataclass(frozen=True, slots=True)
class ProfileUpdate:
    """A profile update that passed every rule: the new values, and the version it expects."""

    user_id: uuid.UUID
    bio: str | None
    status: str | None
    expected_version: int | None  # None: the operation reads the current version first

    @property
    def changes(self) -> dict[str, str]:
        """The columns to write, by name; never empty."""
        changes = {"bio": self.bio, "status": self.status}
        return {column: value for column, value in changes.items() if value is not None}


@dataclass(frozen=True, slots=True)
class UserListing:
    """One page of a listing: its size and the dimension it keeps to (None: every one)."""

    dimension: str | None
    page_size: int


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def _refuse_unprintable(field: str, value: str, allow_newlines: bool = False) -> None:
    if value.isprintable():  # every refused category is unprintable: the common case, in C
        return
    for ch in value:
        if allow_newlines and ch == "\n":
            continue
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise ValidationError(
                field, f"contains a control or invisible character ({_describe(ch)})"
            )


def normalize_username(raw: str) -> str:
    if not isinstance(raw, str) or raw == "":
        raise ValidationError("username", "is required")
    _refuse_unprintable("username", raw)
    name = unicodedata.normalize("NFKC", raw).lower()
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise ValidationError(
            "username", f"must be {USERNAME_MIN}-{USERNAME_MAX} characters (got {len(name)})"
        )
    if not name.isascii() or not _USERNAME_RE.fullmatch(name):
        raise ValidationError(
            "username",
            "may hold only letters a-z, digits, '-', '_' and '.', and must start with a "
            "letter or digit",
        )
    return name


def normalize_email(raw: str) -> str:
    if not isinstance(raw, str) or raw == "":
        raise ValidationError("email", "is required")
    _refuse_unprintable("email", raw)
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if len(email) > EMAIL_MAX:
        raise ValidationError("email", f"must be at most {EMAIL_MAX} characters")
    if not email.isascii():
        raise ValidationError("email", "must be an ASCII address such as cipher@registry.galaxy")
    if not (_is_common_address(email) or _is_address(email)):
        raise ValidationError("email", f"{raw!r} is not a valid address like name@example.org")
    return email


def _is_address(email: str) -> bool:
    """The e-mail rule on a lower-cased ASCII address: a dotted local part of at most 64
    characters, '@', and two or more DNS labels, the last not all digits."""
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    return bool(
        at
        and local
        and len(local) <= 64
        and _EMAIL_LOCAL_RE.fullmatch(local)
        and len(labels) >= 2
        and all(_EMAIL_LABEL_RE.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _is_common_address(email: str) -> bool:
    """The usual shape of an address, in one match: every address it accepts `_is_address`
    accepts too (tests/unit/test_validation.py), so it only spares the full rule's work."""
    return _EMAIL_COMMON_RE.fullmatch(email) is not None and email.index("@") <= 64


def normalize_label(field: str, raw: str, maximum: int = LABEL_MAX) -> str:
    """Display names and dimensions: 1-64 printable characters, surrounding spaces trimmed."""
    if not isinstance(raw, str):
        raise ValidationError(field, "is required")
    _refuse_unprintable(field, raw)
    value = unicodedata.normalize("NFC", raw).strip()
    if not value:
        raise ValidationError(field, "is required")
    if len(value) > maximum:
        raise ValidationError(field, f"must be at most {maximum} characters (got {len(value)})")
    return value


def normalize_bio(raw: str) -> str:
    value = unicodedata.normalize("NFC", raw.replace("\r\n", "\n"))
    _refuse_unprintable("bio", value, allow_newlines=True)
    if len(value) > BIO_MAX:
        raise ValidationError("bio", f"must be at most {BIO_MAX} characters (got {len(value)})")
    return value


def normalize_status(raw: str) -> str:
    value = raw.strip().lower() if isinstance(raw, str) else ""
    if value not in STATUSES:
        raise ValidationError("status", f"must be one of {', '.join(STATUSES)}")
    return value


def parse_expected_version(raw: int | str) -> int:
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise TypeError  # 2.5 or True must not quietly become 2 or 1
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError("expected_version", f"must be a whole number, not {raw!r}") from None
    if not 1 <= value <= VERSION_MAX:
        raise ValidationError("expected_version", f"must be between 1 and {VERSION_MAX}")
    return value


def parse_user_id(raw: str | uuid.UUID) -> uuid.UUID:
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(str(raw).strip())
    except ValueError:
        raise ValidationError("user_id", f"{raw!r} is not a UUID") from None


def parse_page_size(raw: int | str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError("limit", f"must be a whole number, not {raw!r}") from None
    if not 1 <= value <= PAGE_SIZE_MAX:
        raise ValidationError("limit", f"must be between 1 and {PAGE_SIZE_MAX}")
    return value


def validate_keyspace(raw: str) -> str:
    if not isinstance(raw, str) or not _KEYSPACE_RE.fullmatch(raw):
        raise ValidationError(
            "keyspace", "must be 1-48 letters, digits or '_', starting with a letter"
        )
    return raw


def validate_registration(
    username: str, email: str, display_name: str, dimension: str
) -> Registration:
    key, canonical = normalize_username(username), normalize_email(email)
    return Registration(
        username=key,
        email=canonical,
        display_name=normalize_label("display_name", display_name),
        dimension=normalize_label("dimension", dimension),
        # As typed_username / typed_email, whose rules were just checked above.
        username_typed=unicodedata.normalize("NFKC", username),
        email_typed=unicodedata.normalize("NFKC", email).strip(),
    )


def typed_username(raw: str) -> str:
    """The name as typed (NFKC: full-width and compatibility forms folded, case kept), once it
    passes the username rule."""
    normalize_username(raw)
    return unicodedata.normalize("NFKC", raw)


def typed_email(raw: str) -> str:
    """The address as typed (NFKC, surrounding spaces trimmed, case kept), once it passes the
    e-mail rule."""
    normalize_email(raw)
    return unicodedata.normalize("NFKC", raw).strip()


def parse_profile_update(
    user_id: str | uuid.UUID,
    bio: str | None = None,
    status: str | None = None,
    expected_version: int | str | None = None,
) -> ProfileUpdate:
    update = ProfileUpdate(
        user_id=parse_user_id(user_id),
        bio=normalize_bio(bio) if bio is not None else None,
        status=normalize_status(status) if status is not None else None,
        expected_version=(
            parse_expected_version(expected_version) if expected_version is not None else None
        ),
    )
    if not update.changes:
        raise ValidationError("bio", "nothing to update: give a bio, a status, or both")
    return update


def parse_user_listing(dimension: str | None, page_size: int | str) -> UserListing:
    size = parse_page_size(page_size)  # the size is judged first, as it always was
    return UserListing(
        dimension=normalize_label("dimension", dimension) if dimension is not None else None,
        page_size=size,
    )
