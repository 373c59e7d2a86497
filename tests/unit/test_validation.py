"""Pure unit tests: the input rules (validation.py), settings from the environment (config.py)
and the opaque list cursor (cursor.encode_cursor / decode_cursor). No database."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry_tui.core.config import Settings, parse_hosts, settings_from_env
from registry_tui.core.cursor import (
    cursor_key,
    decode_cursor,
    default_key_file,
    encode_cursor,
    key_from_file,
)
from registry_tui.core.validation import (
    BIO_MAX,
    EMAIL_MAX,
    LABEL_MAX,
    STATUSES,
    USERNAME_MAX,
    USERNAME_MIN,
    VERSION_MAX,
    ProfileUpdate,
    Registration,
    UserListing,
    ValidationError,
    _is_address,
    _is_common_address,
    normalize_bio,
    normalize_email,
    normalize_label,
    normalize_status,
    normalize_username,
    parse_expected_version,
    parse_page_size,
    parse_profile_update,
    parse_user_id,
    parse_user_listing,
    validate_registration,
)


def fullwidth(text: str) -> str:
    """ASCII '!'..'~' to their full-width forms (U+FF01..U+FF5E), as a phone keyboard may."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def refused(func, *args) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(*args)
    return info.value


# Text that must never reach storage: it would drive or deceive a terminal.
HOSTILE = {
    "nul": "ab\x00c",
    "tab": "ab\tc",
    "newline": "ab\nc",
    "carriage return": "ab\rc",
    "delete": "ab\x7fc",
    "c1 control": "ab\x9bc",
    "ansi colour": "ab\x1b[31mc",
    "osc title": "ab\x1b]2;x\x1b\\c",
    "bidi override": "ab\u202ec",
    "zero width space": "ab\u200bc",
    "zero width joiner": "ab\u200dc",
    "bom": "\ufeffabc",
    "line separator": "ab\u2028c",
    "paragraph separator": "ab\u2029c",
    "private use": "ab\ue000c",
    "unassigned": "ab\U000e0fffc",
}


# ---------------------------------------------------------------------------------------------
# username


@pytest.mark.parametrize(
    "raw",
    [
        "Agent-Cipher-007",
        "agent-cipher-007",
        "AGENT-CIPHER-007",
        "aGeNt-CiPhEr-007",
        fullwidth("Agent-Cipher-007"),
        fullwidth("agent") + "-cipher-007",
    ],
)
def test_username_case_and_fullwidth_fold_to_one_name(raw: str) -> None:
    assert normalize_username(raw) == "agent-cipher-007"


def test_username_nfkc_compatibility_characters_fold() -> None:
    assert normalize_username("\ufb01le-x") == "file-x"  # the 'fi' ligature
    assert normalize_username("\u212aelvin") == "kelvin"  # KELVIN SIGN


@pytest.mark.parametrize("raw", ["abc", "a.b", "a_b", "a-b", "9lives", "x" * USERNAME_MAX, "0.0"])
def test_username_accepted(raw: str) -> None:
    assert normalize_username(raw) == raw


@pytest.mark.parametrize("raw", ["ab", "x", "x" * (USERNAME_MAX + 1)])
def test_username_length_3_to_32(raw: str) -> None:
    err = refused(normalize_username, raw)
    assert err.field == "username"
    assert f"{USERNAME_MIN}-{USERNAME_MAX}" in err.message


def test_username_length_counts_the_normalised_form() -> None:
    # 16 full-width letters are 16 characters after NFKC: accepted.
    assert normalize_username(fullwidth("a" * 16)) == "a" * 16
    # U+33CF SQUARE KN becomes two letters: 17 of them normalise to 34 > 32.
    assert len("\u33cf" * 17) == 17
    err = refused(normalize_username, "\u33cf" * 17)
    assert "got 34" in err.message


@pytest.mark.parametrize("raw", ["-abc", "_abc", ".abc", "-" * 5])
def test_username_must_start_with_letter_or_digit(raw: str) -> None:
    assert refused(normalize_username, raw).field == "username"


@pytest.mark.parametrize(
    "raw",
    [
        "ünïcode",
        "straße",
        "agent cipher",
        "agent@cipher",
        "agent/x",
        "παράδειγμα",
        "名前です",
        "a+b",
    ],
)
def test_username_non_ascii_and_other_characters_refused(raw: str) -> None:
    assert refused(normalize_username, raw).field == "username"


@pytest.mark.parametrize("raw", ["", None, 42])
def test_username_required(raw: object) -> None:
    err = refused(normalize_username, raw)
    assert (err.field, err.message) == ("username", "is required")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_username_hostile_characters_refused(name: str) -> None:
    assert refused(normalize_username, HOSTILE[name]).field == "username"


# ---------------------------------------------------------------------------------------------
# e-mail


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("cipher@registry.galaxy", "cipher@registry.galaxy"),
        ("Cipher@Registry.Galaxy", "cipher@registry.galaxy"),
        ("  CIPHER@REGISTRY.GALAXY  ", "cipher@registry.galaxy"),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
        (fullwidth("Cipher@Registry.Galaxy"), "cipher@registry.galaxy"),
        ("a@b.co\u00a0", "a@b.co"),  # a no-break space NFKC-folds to a space, then trimmed
        ("o'brien@x-y.example", "o'brien@x-y.example"),
    ],
)
def test_email_normalised_and_lower_cased(raw: str, stored: str) -> None:
    assert normalize_email(raw) == stored


def test_email_at_most_254_characters() -> None:
    local = "x" * 64
    domain = ".".join(["b" * 63, "b" * 63, "c" * 61])
    longest = f"{local}@{domain}"
    assert len(longest) == EMAIL_MAX == 254
    assert normalize_email(longest) == longest
    err = refused(normalize_email, f"{local}@{domain}c")
    assert err.field == "email"
    assert str(EMAIL_MAX) in err.message


def test_email_local_part_at_most_64() -> None:
    assert normalize_email("x" * 64 + "@b.com")
    assert refused(normalize_email, "x" * 65 + "@b.com").field == "email"


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "a@",
        "@b.com",
        "a@b",
        "a@@b.com",
        "a@b@c.com",
        "a..b@c.com",
        ".a@c.com",
        "a.@c.com",
        "a b@c.com",
        "a@ b.com",
        "a@b..com",
        "a@.b.com",
        "a@b.com.",
        "a@-b.com",
        "a@b-.com",
        "a@b_c.com",
        "a@b.123",
        "a@[127.0.0.1]",
        '"a"@b.com',
        "a@" + "b" * 64 + ".com",
        "ü@x.com",
        "a@bücher.de",
    ],
)
def test_email_invalid_shapes_refused(raw: str) -> None:
    assert refused(normalize_email, raw).field == "email"


# Lower-cased ASCII addresses, built mostly from the characters both e-mail rules care about.
_address_text = st.text(alphabet="ab09_+-.@!#%x", max_size=80) | st.from_regex(
    r"[a-z0-9_+.-]{1,70}@([a-z0-9-]{1,64}\.){1,3}[a-z0-9-]{1,64}", fullmatch=True
)


@settings(max_examples=3000, deadline=None)
@given(_address_text)
def test_email_common_shape_accepts_nothing_the_full_rule_refuses(email: str) -> None:
    """The one-match path for usual addresses only spares work: whatever it accepts, the full
    rule accepts too (so it can never let a bad address in)."""
    if _is_common_address(email):
        assert _is_address(email), email


@pytest.mark.parametrize(
    "email",
    ["cipher@registry.galaxy", "a.b-c_d+e@sub.example.org", "x" * 64 + "@b.com", "a1@b2.c3"],
)
def test_email_common_shape_takes_usual_addresses(email: str) -> None:
    assert _is_common_address(email) and _is_address(email)


@pytest.mark.parametrize("raw", ["", None])
def test_email_required(raw: object) -> None:
    err = refused(normalize_email, raw)
    assert (err.field, err.message) == ("email", "is required")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_email_hostile_characters_refused(name: str) -> None:
    assert refused(normalize_email, "a" + HOSTILE[name] + "@b.com").field == "email"


# ---------------------------------------------------------------------------------------------
# display name and dimension


@pytest.mark.parametrize("field", ["display_name", "dimension"])
def test_label_trimmed_and_kept(field: str) -> None:
    assert normalize_label(field, "  Ada Lovelace  ") == "Ada Lovelace"
    assert normalize_label(field, "Ω-Dimension 7") == "Ω-Dimension 7"
    assert normalize_label(field, "名前") == "名前"
    assert normalize_label(field, "x") == "x"


@pytest.mark.parametrize("field", ["display_name", "dimension"])
def test_label_length_1_to_64_after_trimming(field: str) -> None:
    assert normalize_label(field, "a" * LABEL_MAX) == "a" * LABEL_MAX
    assert normalize_label(field, "  " + "a" * LABEL_MAX + "  ") == "a" * LABEL_MAX
    err = refused(normalize_label, field, "a" * (LABEL_MAX + 1))
    assert err.field == field
    assert "65" in err.message


def test_label_length_counts_composed_characters() -> None:
    # 'e' + COMBINING ACUTE is one character once NFC-composed.
    assert normalize_label("display_name", "e\u0301" * LABEL_MAX) == "\u00e9" * LABEL_MAX


@pytest.mark.parametrize("field", ["display_name", "dimension"])
@pytest.mark.parametrize("raw", ["", " ", "   ", "\u3000", None])
def test_label_required(field: str, raw: object) -> None:
    err = refused(normalize_label, field, raw)
    assert (err.field, err.message) == (field, "is required")


@pytest.mark.parametrize("field", ["display_name", "dimension"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_label_hostile_characters_refused(field: str, name: str) -> None:
    err = refused(normalize_label, field, HOSTILE[name])
    assert err.field == field
    assert "control or invisible" in err.message


@pytest.mark.parametrize("field", ["display_name", "dimension"])
@pytest.mark.parametrize(
    "raw", ["[/x]", "[@click=app.quit]x", "[b]bold[/b]", "[red]x[/red]", "\\[x]", "a [link=x]b"]
)
def test_label_markup_like_brackets_kept_literally(field: str, raw: str) -> None:
    assert normalize_label(field, raw) == raw


def test_label_control_message_names_the_character() -> None:
    err = refused(normalize_label, "display_name", "x\u202ey")
    assert "U+202E" in err.message
    assert "\u202e" not in err.message  # the message itself must be safe to print


# ---------------------------------------------------------------------------------------------
# bio, status


def test_bio_up_to_500_with_newlines() -> None:
    assert normalize_bio("") == ""
    assert normalize_bio("line one\nline two\n\nthree") == "line one\nline two\n\nthree"
    assert normalize_bio("a\r\nb") == "a\nb"
    assert normalize_bio("x" * BIO_MAX) == "x" * BIO_MAX
    assert normalize_bio("[/x] [@click=app.quit]x") == "[/x] [@click=app.quit]x"
    err = refused(normalize_bio, "x" * (BIO_MAX + 1))
    assert err.field == "bio"
    assert "501" in err.message


def test_bio_length_counts_after_line_ending_folding() -> None:
    # 250 CRLF pairs are 500 characters once folded to LF.
    assert normalize_bio("\r\n" * 250) == "\n" * 250


@pytest.mark.parametrize("name", sorted(set(HOSTILE) - {"newline"}))
def test_bio_control_characters_refused(name: str) -> None:
    assert refused(normalize_bio, HOSTILE[name]).field == "bio"


@pytest.mark.parametrize(("raw", "stored"), [(s, s) for s in STATUSES] + [(" Active ", "active")])
def test_status_accepted(raw: str, stored: str) -> None:
    assert normalize_status(raw) == stored


@pytest.mark.parametrize("raw", ["", "deleted", "act ive", "active\x1b", None, 1])
def test_status_refused(raw: object) -> None:
    err = refused(normalize_status, raw)
    assert err.field == "status"
    assert "active, inactive, suspended" in err.message


# ---------------------------------------------------------------------------------------------
# expected_version, user id, page size


@pytest.mark.parametrize(
    ("raw", "value"), [(1, 1), ("1", 1), (" 7 ", 7), (VERSION_MAX, VERSION_MAX), ("42", 42)]
)
def test_expected_version_accepted(raw: object, value: int) -> None:
    assert parse_expected_version(raw) == value


@pytest.mark.parametrize("raw", [0, -1, "0", VERSION_MAX + 1, 2**63, "x", "", "1.5", None, "1e3"])
def test_expected_version_refused(raw: object) -> None:
    assert refused(parse_expected_version, raw).field == "expected_version"


def test_version_max_is_the_cql_int_maximum() -> None:
    assert VERSION_MAX == 2**31 - 1


def test_user_id() -> None:
    uid = uuid.uuid4()
    assert parse_user_id(uid) is uid
    assert parse_user_id(str(uid)) == uid
    assert parse_user_id(f"  {str(uid).upper()}  ") == uid
    for bad in ["", "not-a-uuid", str(uid)[:-1], str(uid) + "0", "\x1b[31m"]:
        assert refused(parse_user_id, bad).field == "user_id"


def test_page_size() -> None:
    assert parse_page_size(1) == 1
    assert parse_page_size("5000") == 5000
    for bad in [0, 5001, "x", None]:
        assert refused(parse_page_size, bad).field == "limit"


def test_validate_registration_normalises_every_field() -> None:
    reg = validate_registration(
        fullwidth("Agent-Cipher-007"), " Cipher@Registry.Galaxy ", "  Cipher  ", " C-137 "
    )
    assert reg == Registration(
        "agent-cipher-007",
        "cipher@registry.galaxy",
        "Cipher",
        "C-137",
        username_typed="Agent-Cipher-007",  # full-width folded, case kept: what is shown
        email_typed="Cipher@Registry.Galaxy",
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("ab", "a@b.com", "A", "d"), "username"),
        (("abc", "a@b", "A", "d"), "email"),
        (("abc", "a@b.com", "", "d"), "display_name"),
        (("abc", "a@b.com", "A", "\x1b[31m"), "dimension"),
    ],
)
def test_validate_registration_names_the_field(args: tuple[str, ...], field: str) -> None:
    assert refused(validate_registration, *args).field == field


def test_profile_update_parses_every_field() -> None:
    uid = uuid.uuid4()
    update = parse_profile_update(f" {uid} ", "a\r\nb", " Inactive ", "7")
    assert update == ProfileUpdate(uid, "a\nb", "inactive", 7)
    assert update.changes == {"bio": "a\nb", "status": "inactive"}
    # An empty bio is a change (it clears the bio); no version means: read it first.
    assert parse_profile_update(uid, bio="").changes == {"bio": ""}
    assert parse_profile_update(uid, status="active").expected_version is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("nope", "x", None, None), "user_id"),
        ((str(uuid.UUID(int=0)), "\x1b[31m", None, None), "bio"),
        ((str(uuid.UUID(int=0)), None, "zombie", None), "status"),
        ((str(uuid.UUID(int=0)), "x", None, "-1"), "expected_version"),
        ((str(uuid.UUID(int=0)), None, None, "1"), "bio"),  # nothing to update
    ],
)
def test_profile_update_names_the_field(args: tuple[str | None, ...], field: str) -> None:
    assert refused(parse_profile_update, *args).field == field


def test_profile_update_without_changes_says_so() -> None:
    err = refused(parse_profile_update, uuid.uuid4(), None, None, 3)
    assert err.message == "nothing to update: give a bio, a status, or both"


def test_user_listing() -> None:
    assert parse_user_listing(None, "50") == UserListing(None, 50)
    assert parse_user_listing(" Dimension-6 ", 1) == UserListing("Dimension-6", 1)
    assert refused(parse_user_listing, "", 10).field == "dimension"
    # Both wrong: the page size is named, as the listing always did.
    assert refused(parse_user_listing, "", 0).field == "limit"


def test_validation_error_message() -> None:
    err = ValidationError("email", "is required")
    assert isinstance(err, ValueError)
    assert str(err) == "email: is required"


# ---------------------------------------------------------------------------------------------
# config.settings_from_env


def test_settings_defaults() -> None:
    s = settings_from_env({})
    assert s == Settings()
    assert s.hosts == ("127.0.0.1",)
    assert s.port == 9042
    assert s.keyspace == "registry"
    assert s.replication_factor == 1
    assert s.local_dc is None
    assert s.username is None and s.password is None
    assert s.ssl_ca_file is None and s.ssl_cert_file is None and s.ssl_key_file is None
    assert s.connect_timeout == 5.0
    assert s.request_timeout == 6.0


def test_settings_empty_values_mean_default() -> None:
    env = {
        "SCYLLA_PORT": "",
        "SCYLLA_KEYSPACE": "",
        "SCYLLA_RF": "",
        "SCYLLA_LOCAL_DC": "",
        "SCYLLA_USERNAME": "",
        "SCYLLA_PASSWORD": "",
        "SCYLLA_SSL_CA_FILE": "",
        "SCYLLA_REQUEST_TIMEOUT": "",
    }
    assert settings_from_env(env) == Settings()


def test_settings_overrides() -> None:
    env = {
        "SCYLLA_HOSTS": " 10.0.0.1, 10.0.0.2 ,,",
        "SCYLLA_PORT": "19042",
        "SCYLLA_KEYSPACE": "galaxy",
        "SCYLLA_RF": "3",
        "SCYLLA_LOCAL_DC": "dc1",
        "SCYLLA_USERNAME": "cipher",
        "SCYLLA_PASSWORD": "s3cr3t-pw",
        "SCYLLA_SSL_CA_FILE": "/etc/ca.pem",
        "SCYLLA_SSL_CERT_FILE": "/etc/cert.pem",
        "SCYLLA_SSL_KEY_FILE": "/etc/key.pem",
        "SCYLLA_CONNECT_TIMEOUT": "2.5",
        "SCYLLA_REQUEST_TIMEOUT": "12",
    }
    s = settings_from_env(env)
    assert s.hosts == ("10.0.0.1", "10.0.0.2")
    assert s.port == 19042
    assert s.keyspace == "galaxy"
    assert s.replication_factor == 3
    assert s.local_dc == "dc1"
    assert (s.username, s.password) == ("cipher", "s3cr3t-pw")
    assert s.ssl_ca_file == Path("/etc/ca.pem")
    assert s.ssl_cert_file == Path("/etc/cert.pem")
    assert s.ssl_key_file == Path("/etc/key.pem")
    assert s.connect_timeout == 2.5
    assert s.request_timeout == 12.0


def test_settings_read_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCYLLA_PORT", "29042")
    monkeypatch.setenv("SCYLLA_KEYSPACE", "from_env")
    s = settings_from_env()
    assert (s.port, s.keyspace) == (29042, "from_env")


@pytest.mark.parametrize("port", ["abc", "9042x", "0", "-1", "65536", "1.5", " "])
def test_settings_bad_port(port: str) -> None:
    err = refused(settings_from_env, {"SCYLLA_PORT": port})
    assert err.field == "SCYLLA_PORT"


def test_settings_port_bounds() -> None:
    assert settings_from_env({"SCYLLA_PORT": "1"}).port == 1
    assert settings_from_env({"SCYLLA_PORT": "65535"}).port == 65535


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCYLLA_RF", "0"),
        ("SCYLLA_RF", "10"),
        ("SCYLLA_RF", "x"),
        ("SCYLLA_REQUEST_TIMEOUT", "0"),
        ("SCYLLA_REQUEST_TIMEOUT", "-1"),
        ("SCYLLA_REQUEST_TIMEOUT", "601"),
        ("SCYLLA_REQUEST_TIMEOUT", "soon"),
        ("SCYLLA_REQUEST_TIMEOUT", "nan"),
        ("SCYLLA_CONNECT_TIMEOUT", "inf"),
    ],
)
def test_settings_bad_numbers(name: str, value: str) -> None:
    assert refused(settings_from_env, {name: value}).field == name


def test_settings_hosts() -> None:
    assert parse_hosts("a") == ("a",)
    assert parse_hosts(" a , b ") == ("a", "b")
    assert refused(parse_hosts, " , ,").field == "hosts"


def test_settings_with_overrides() -> None:
    base = settings_from_env({})
    s = base.with_overrides(hosts="h1,h2", port=1234, keyspace=None, request_timeout=0.5)
    assert s.hosts == ("h1", "h2")
    assert s.port == 1234
    assert s.keyspace == "registry"  # None means "not given"
    assert s.request_timeout == 0.5
    assert base == Settings()  # frozen: the original is untouched


def test_password_never_shown() -> None:
    s = settings_from_env(
        {"SCYLLA_USERNAME": "cipher", "SCYLLA_PASSWORD": "hunter2-s3cr3t", "SCYLLA_PORT": "9142"}
    )
    assert s.password == "hunter2-s3cr3t"
    for text in (repr(s), str(s), s.describe(), f"{s}"):
        assert "hunter2-s3cr3t" not in text
    assert s.describe() == "127.0.0.1:9142 (keyspace registry as cipher)"
    assert (
        settings_from_env({"SCYLLA_HOSTS": "a,b"}).describe()
        == "a:9042, b:9042 (keyspace registry)"
    )


# ---------------------------------------------------------------------------------------------
# list cursors


KEY = cursor_key("unit-test-key")


def flip(cursor: str, position: int) -> str:
    """The same cursor with one base64 character changed."""
    ch = cursor[position]
    return cursor[:position] + ("B" if ch != "B" else "C") + cursor[position + 1 :]


@pytest.mark.parametrize(
    "state",
    [b"\x00", b"\xff\xfe\xfd", b"ab", b"abc", b"abcd", bytes(range(256)), b"\x00" * 33],
)
@pytest.mark.parametrize("scope", ["", "ks|", "ks|C-137"])
def test_cursor_round_trip(state: bytes, scope: str) -> None:
    cursor = encode_cursor(state, scope, KEY)
    assert isinstance(cursor, str)
    assert cursor.isascii() and cursor.isprintable()
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # safe in a URL/shell
    assert decode_cursor(cursor, scope, KEY) == state


def test_cursor_none_for_the_last_page() -> None:
    assert encode_cursor(None, "ks|", KEY) is None
    assert encode_cursor(b"", "ks|", KEY) is None
    assert decode_cursor(None, "ks|", KEY) is None
    assert decode_cursor("", "ks|", KEY) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "c2.AAAA",
        "AAAA",
        "c1.a",  # impossible base64 length
        "c1.A!A!",  # not the URL-safe alphabet
        "c1.!!!!",
        "c1.AA AA",
        "c1.\x1b[31m",
        "c1.AAAA",  # well-formed, but no valid signature
        "c1." + "A" * 40,
        "c1." + "A" * 5000,
    ],
)
def test_bad_cursor_refused(cursor: str) -> None:
    err = refused(decode_cursor, cursor, "", KEY)
    assert err.field == "cursor"


def test_tampered_cursor_refused() -> None:
    cursor = encode_cursor(b"some paging state", "ks|", KEY)
    assert cursor is not None
    for position in (3, len(cursor) // 2, len(cursor) - 1):
        assert refused(decode_cursor, flip(cursor, position), "ks|", KEY).field == "cursor"
    assert refused(decode_cursor, cursor[:-4], "ks|", KEY).field == "cursor"
    assert refused(decode_cursor, cursor + "AAAA", "ks|", KEY).field == "cursor"


def test_cursor_bound_to_its_listing() -> None:
    cursor = encode_cursor(b"state", "ks|C-137", KEY)
    assert decode_cursor(cursor, "ks|C-137", KEY) == b"state"
    for other in ("ks|", "ks|C-138", "other|C-137", ""):
        assert refused(decode_cursor, cursor, other, KEY).field == "cursor"


def test_cursor_signed_with_another_key_refused() -> None:
    cursor = encode_cursor(b"state", "ks|", cursor_key("key-one"))
    assert decode_cursor(cursor, "ks|", cursor_key("key-one")) == b"state"
    assert refused(decode_cursor, cursor, "ks|", cursor_key("key-two")).field == "cursor"


def test_cursor_key_from_the_settings() -> None:
    assert settings_from_env({"REGISTRY_CURSOR_KEY": "k1"}).cursor_key == "k1"
    assert settings_from_env({}).cursor_key is None
    assert "k1" not in repr(settings_from_env({"REGISTRY_CURSOR_KEY": "k1"}))
    assert cursor_key("k1") == cursor_key("k1") != cursor_key("k2")


def test_cursor_key_without_a_secret_is_kept_on_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A cursor printed by one CLI run must work in the next: the key survives the process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = default_key_file()
    assert path == tmp_path / "registry-tui" / "cursor.key"
    first = key_from_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_from_file(path) == first and len(first) == 32
    path.write_bytes(b"short")
    with pytest.raises(OSError):
        key_from_file(path)
