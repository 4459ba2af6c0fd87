"""The default rules: which key names are sensitive, which values are, and their checksums.

Key rules compare a key lower-cased with its separators removed (``X-Api-Key``, ``api_key`` and
``apiKey`` are the same key) against the names below: equal, or ending in one of the longer ones
(``db_password``), never a mere substring (``monkey`` is not ``key``). Value rules are regular
expressions, each confirmed by a validator wherever a number carries a checksum or a structure
(Luhn for cards, mod-97 for IBANs, date and check digit for Korean registration numbers), so that
digit runs which only look alike (order numbers, timestamps, barcodes) are left alone.

Imports: the standard library only.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import re
from collections.abc import Callable

# --- key names ----------------------------------------------------------------------------------

_SEPARATORS = str.maketrans("", "", "-_. ")


def normalise_key(key: str) -> str:
    """``key`` lower-cased without ``-``, ``_``, ``.`` and spaces."""
    return key.lower().translate(_SEPARATORS)


# Matched when the normalised key equals one of these or ends with it (name -> kind).
KEY_SUFFIXES: dict[str, str] = {
    **dict.fromkeys(("password", "passwd", "passphrase", "mysqlpwd", "userpwd"), "password"),
    **dict.fromkeys(
        ("secret", "clientsecret", "secretkey", "apisecret", "secretaccesskey", "appsecret"),
        "secret",
    ),
    **dict.fromkeys(
        (
            "token",
            "accesstoken",
            "refreshtoken",
            "idtoken",
            "authtoken",
            "apitoken",
            "bearertoken",
            "sessiontoken",
            "securitytoken",
            "csrftoken",
            "xsrftoken",
            "apikey",
            "accesskey",
            "privatetoken",
            "oauthtoken",
        ),
        "token",
    ),
    **dict.fromkeys(("authorization", "credential", "credentials", "proxyauthorization"), "auth"),
    **dict.fromkeys(("cookie", "cookies", "setcookie"), "cookie"),
    **dict.fromkeys(
        ("sessionid", "sessid", "phpsessid", "jsessionid", "sessionkey", "connectsid"), "session"
    ),
    **dict.fromkeys(("privatekey", "signingkey", "sshkey", "encryptionkey"), "private_key"),
    **dict.fromkeys(
        (
            "cardnumber",
            "creditcard",
            "creditcardnumber",
            "ccnumber",
            "cardno",
            "cardnum",
            "pan",
            "cvv",
            "cvv2",
            "cvc",
            "cvc2",
            "securitycode",
        ),
        "card",
    ),
    **dict.fromkeys(
        (
            "ssn",
            "socialsecuritynumber",
            "nationalid",
            "nationalidnumber",
            "rrn",
            "jumin",
            "juminno",
            "juminbunho",
            "residentnumber",
            "residentregistrationnumber",
            "foreignerregistrationnumber",
            "alienregistrationnumber",
            "passportnumber",
            "주민번호",
            "주민등록번호",
            "외국인등록번호",
        ),
        "national_id",
    ),
}
# Too short to be matched as an ending (``japan`` is not ``pan``): matched only as the whole key.
KEY_EXACT: dict[str, str] = {
    "pwd": "password",
    "pass": "password",
    "auth": "auth",
    "sid": "session",
    "session": "session",
    "jwt": "token",
    "csrf": "token",
    "xsrf": "token",
}
# In a URL's query string these also carry credentials (signed URLs, OAuth redirects).
QUERY_EXTRA: dict[str, str] = {
    "key": "token",
    "sig": "token",
    "signature": "token",
    "xamzsignature": "token",
    "xamzcredential": "token",
    "xamzsecuritytoken": "token",
    "code": "token",
}


def key_kind(
    normalised: str, suffixes: dict[str, str], exact: dict[str, str], longest: int
) -> str | None:
    """The kind of a sensitive normalised key, or None."""
    kind = exact.get(normalised) or suffixes.get(normalised)
    if kind is not None:
        return kind
    n = len(normalised)
    for size in range(min(n, longest), 2, -1):
        kind = suffixes.get(normalised[n - size :])
        if kind is not None:
            return kind
    return None


# --- value rules --------------------------------------------------------------------------------

# A marker this module wrote before: left exactly as it is, so redaction is idempotent.
MARKER = re.compile(r"\[REDACTED:[a-z0-9_]{1,32}(?::(?:[0-9a-f]{12}|last4=\d{4}))?\]")

PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)", re.S
)
URL_CREDENTIALS = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]{0,15}://([^\s/?#@:\[\]]*:[^\s/?#@]+)@")
# ``name=value`` / ``name: value`` / ``"name": "value"``: the value is redacted when the name is a
# sensitive key. In a query string (after ``?``, ``&`` or ``;``) the QUERY_EXTRA names count too.
ASSIGNMENT = re.compile(
    r"""(?:([?&;])|(?<![\w\-.]))["']?([^\W\d][\w.\-]{0,63})["']?[ \t]*[=:][ \t]*"""
    r"""(?:"([^"\\\n]+)"|'([^'\\\n]+)'|([^\s&#;,"'<>()\[\]{}]+))"""
)
EMAIL = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w\-])"
)
JWT = re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*")
AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)[ \t]+([A-Za-z0-9._~+/\-]{8,}=*)")
AWS_KEY_ID = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)"
    r"[A-Z2-7]{16}(?![A-Za-z0-9])"
)
AWS_SECRET = re.compile(
    r"(?i)(?:aws|secret)[\w\-. \"':=]{0,40}?(?-i:(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})"
    r"(?![A-Za-z0-9/+=]))"
)
# 13-19 digits, single spaces or dashes between them.
CARD = re.compile(r"(?<![\w\-.+])\d(?:[ \-]?\d){12,18}(?![\w\-]|\.\d)")
RRN = re.compile(r"(?<![\w\-.])(\d{6})(-?)([1-8]\d{6})(?![\w\-]|\.\d)")
RRN_CONTEXT = re.compile(
    r"(?i)(?:주민|외국인|등록번호|rrn|jumin|resident|registration|foreigner|alien)"
)
_KR_PREFIX = r"(?:1[016-9]|2|[3-6][1-5]|70|50[2-8])"
PHONE_KR = re.compile(
    r"(?<![\w+\-.])(?:\+82[ \-.]?(?:\(0\)[ \-.]?)?" + _KR_PREFIX + r"|\(0" + _KR_PREFIX + r"\)"
    r"|0" + _KR_PREFIX + r")[ \-.]?\d{3,4}[ \-.]?\d{4}(?![\w\-]|\.\d)"
)
# E.164 with its plus sign: 8-15 digits, single separators between groups.
PHONE_INTL = re.compile(r"(?<![\w+])\+[1-9](?:[ \-.]?\(?\d\)?){7,14}(?![\w\-]|\.\d)")
# North American national form, (415) 555-0132 / 415-555-0132 / 415.555.0132.
PHONE_NANP = re.compile(
    r"(?<![\w\-.+])(?:\([2-9]\d\d\) ?|[2-9]\d\d[\-. ])[2-9]\d\d[\-. ]\d{4}(?![\w\-]|\.\d)"
)
# Other national forms: a trunk 0, then groups separated by spaces or dashes (UK, DE, FR, JP).
PHONE_NATIONAL = re.compile(r"(?<![\w\-.+])0\d{1,4}(?:[ \-]\d{3,4}){2}(?![\w\-]|\.\d)")
# Where every numeric rule above matches: a run of digits, spaces, dashes, dots and parentheses,
# with a leading + or (.
NUMERIC_RUN = re.compile(r"[+(]?\d[\d \-.()]*\d\)?")
# The same run without its leading + or ( (a regular expression without the optional first
# character is searched faster): ``numeric_runs`` adds it back.
_DIGIT_RUN = re.compile(r"\d[\d \-.()]*\d\)?")


def digit_count(run: str) -> int:
    """How many digits a run of ``NUMERIC_RUN`` holds (``str.isdigit`` counted, in C for ASCII)."""
    if run.isascii():
        return len(run.encode("ascii").translate(None, b" -.()+"))
    return sum(map(str.isdigit, run))


def numeric_runs(s: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each ``NUMERIC_RUN`` match in ``s``."""
    runs = []
    for m in _DIGIT_RUN.finditer(s):
        a = m.start()
        runs.append((a - 1 if a and s[a - 1] in "+(" else a, m.end()))
    return runs


IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b")
IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\w]|\.\d)"
)
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")

# A cheap first look: strings without any of these cannot hold a default value rule's match.
GATE = re.compile(
    r"\d[\d \-.()]{5,}\d|@|eyJ|-----BEGIN|(?i:bearer|basic)[ \t]|A[BCGIKNPRS][A-Z]A[A-Z2-7]{12}"
    r"|[=:]"
)


# Luhn on the digits' ASCII codes: the doubled digits' sum of digits, by code.
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))


def luhn(digits: str) -> bool:
    """The Luhn check of ``digits`` (every second digit from the right doubled); digits of
    other scripts (``\\d`` matches them) fail it."""
    if not digits.isascii():
        return False
    kept = digits[-1::-2].encode("ascii")
    doubled = digits[-2::-2].encode("ascii").translate(_LUHN_DOUBLED)
    return (sum(kept) - 48 * len(kept) + sum(doubled)) % 10 == 0


def card_shaped(raw: str) -> bool:
    """13-19 digits grouped as cards print them (4-4-4-4, 4-6-5, ...)."""
    digits = raw.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and raw != digits and _card_grouping(raw)


def card_number(raw: str) -> bool:
    """A payment card number: issuer prefix and length of a real scheme, and the Luhn check."""
    digits = raw.replace(" ", "").replace("-", "")
    n = len(digits)
    if not 13 <= n <= 19 or (raw != digits and not _card_grouping(raw)):
        return False
    first, two, four = digits[0], int(digits[:2]), int(digits[:4])
    if first == "4":
        ok = n in (13, 16, 19)  # Visa
    elif n == 13:
        ok = False
    elif 51 <= two <= 55 or 2221 <= four <= 2720:
        ok = n == 16  # Mastercard
    elif two in (34, 37):
        ok = n == 15  # American Express
    elif two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        ok = 14 <= n <= 19  # Diners
    elif four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or two == 62:
        ok = n >= 16  # Discover, UnionPay
    elif 3528 <= four <= 3589:
        ok = n >= 16  # JCB
    elif two == 50 or 56 <= two <= 69:
        ok = n >= 16  # Maestro
    else:
        ok = False
    return ok and luhn(digits)


# Groups as printed on cards: fours (the last shorter), or 4-6-5 / 4-6-4 (Amex, Diners); one
# kind of separator.
_CARD_GROUPS = re.compile(
    r"(?:\d{4} )+\d{1,4}|(?:\d{4}-)+\d{1,4}|\d{4} \d{6} \d{4,5}|\d{4}-\d{6}-\d{4,5}"
)


def _card_grouping(raw: str) -> bool:
    """Groups as printed on cards: fours (the last shorter), or 4-6-5 / 4-6-4 (Amex, Diners)."""
    return _CARD_GROUPS.fullmatch(raw) is not None


_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# Numbers issued from October 2020 carry no region code and no check digit.
_RRN_REFORM = datetime.date(2020, 10, 1)


def rrn(front: str, back: str, today: datetime.date) -> bool | None:
    """Korean resident or foreigner registration number ``front``-``back``.

    True: a real birth date in the past and gender digit 1-8, with a valid check digit for
    births before October 2020. None: the same, born after that (no check digit to confirm it).
    False otherwise.
    """
    century = 1900 if back[0] in "1256" else 2000
    try:
        born = datetime.date(century + int(front[:2]), int(front[2:4]), int(front[4:6]))
    except ValueError:
        return False
    if born > today:
        return False
    if born >= _RRN_REFORM:
        return None
    digits = front + back
    total = sum(w * (ord(d) - 48) for w, d in zip(_RRN_WEIGHTS, digits, strict=False))
    return (11 - total % 11) % 10 == ord(digits[12]) - 48


# IBAN lengths by country (SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_prefix(raw: str) -> str | None:
    """The start of ``raw`` as long as its country's IBANs, ending at a group; else None."""
    length = IBAN_LENGTHS.get(raw[:2])
    if length is None:
        return None
    count = 0
    for i, c in enumerate(raw):
        if c != " ":
            count += 1
            if count == length:
                return raw[: i + 1] if i + 1 == len(raw) or raw[i + 1] == " " else None
    return None


def iban(raw: str) -> bool:
    """An IBAN of a registered country, of that country's length, passing mod-97."""
    s = raw.replace(" ", "")
    if IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_DOUBLED = re.compile(r"[ \-.]{2}")


# For ASCII phone numbers: digits to 0, the separators a number may not double to -.
_PHONE_CLASSES = bytes.maketrans(b"0123456789 -.", b"0000000000---")


def phone_digits(raw: str, low: int, high: int) -> bool:
    """Between ``low`` and ``high`` digits, separators never doubled."""
    if raw.isascii():
        classes = raw.encode("ascii").translate(_PHONE_CLASSES)
        return low <= classes.count(b"0") <= high and b"--" not in classes
    n = sum(map(str.isdigit, raw))
    return low <= n <= high and not _DOUBLED.search(raw)


def bearer_token(token: str) -> bool:
    """What follows ``Bearer`` looks like a credential, not a word of prose."""
    if any(c.isdigit() or c in "._~+/-=" for c in token):
        return True
    return len(token) >= 20 and any(c.isupper() for c in token[1:])


def basic_credentials(token: str) -> bool:
    """What follows ``Basic`` is base64 of ``user:password``."""
    try:
        return b":" in base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False


def aws_secret(token: str) -> bool:
    """A 40-character AWS secret access key, not a hex digest (SHA-1, git)."""
    return any(c not in "0123456789abcdef" for c in token) and any(c.isdigit() for c in token)


def ip_address(raw: str) -> bool:
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        return False
    return True


Validator = Callable[[str], bool]
