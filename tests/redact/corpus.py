"""Generated corpora for the redaction rules: personal data to catch and near-misses to leave alone.

``positives(seed, n)`` gives ``(kind, value, container)``: ``value`` (the part that must vanish)
embedded at a random position of a sentence, itself put in a random container (the bare string,
a dict, a list, a tuple, nested). ``near_misses(seed, n)`` gives ``(kind, container)`` whose
redaction must leave it equal to itself. Deterministic for a seed; no I/O.
"""

from __future__ import annotations

import base64
import datetime
import random
import string
import uuid
from collections.abc import Callable
from typing import Any

TODAY = datetime.date.today()
REFORM = datetime.date(2020, 10, 1)
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)

WORDS = (
    "order", "created", "user", "checkout", "payment", "failed", "retry", "shipping", "address",
    "updated", "주문", "완료", "결제", "배송", "고객", "요청", "처리", "注文", "完了", "Bestellung",
    "erhalten", "über", "café", "🚀", "ok", "note", "contact", "from", "for", "sent", "value",
)  # fmt: skip
SEPARATORS = (" ", " ", " ", ", ", ": ", "\n", "\t", " (", ") ", " - ")


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def _rrn_check(first12: str) -> str:
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, first12, strict=False))
    return str((11 - total % 11) % 10)


def _date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


# --- positives ----------------------------------------------------------------------------------


def email(rng: random.Random) -> str:
    local = rng.choice(["kim.minsu", "j.doe", "alice+tag", "lee_99", "park-ji", "x"])
    local += str(rng.randrange(1000)) if rng.random() < 0.5 else ""
    domain = rng.choice(["example.com", "naver.com", "mail.example.co.kr", "corp.io", "ex.de"])
    return f"{local}@{domain}"


_CARD_PREFIXES = (
    ("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
    ("6011", 16), ("65", 16), ("3530", 16), ("62", 19), ("36", 14),
)  # fmt: skip


def card(rng: random.Random) -> str:
    prefix, n = rng.choice(_CARD_PREFIXES)
    number = _luhn_complete(prefix + _digits(rng, n - len(prefix) - 1))
    style = rng.randrange(3)
    if style == 0 or n not in (15, 16):
        return number
    sep = " " if style == 1 else "-"
    if n == 15:
        return sep.join((number[:4], number[4:10], number[10:]))
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def rrn(rng: random.Random, foreigner: bool = False, post: bool | None = None) -> tuple[str, str]:
    """A registration number, dashed or not; the second item is a context word (or "")."""
    post = rng.random() < 0.4 if post is None else post
    if post:
        born = _date(rng, REFORM, TODAY - datetime.timedelta(days=1))
    else:
        born = _date(rng, datetime.date(1930, 1, 1), REFORM - datetime.timedelta(days=1))
    g = (3 if born.year >= 2000 else 1) + rng.randrange(2) + (4 if foreigner else 0)
    front = born.strftime("%y%m%d")
    if post:
        back = str(g) + _digits(rng, 6)
    else:
        back = str(g) + _digits(rng, 5)
        back += _rrn_check(front + back)
    if rng.random() < 0.6:
        return f"{front}-{back}", ""
    word = rng.choice(["주민등록번호", "주민번호", "외국인등록번호", "RRN", "jumin", "resident no"])
    return front + back, word


def _kr_forms() -> list[Callable[[random.Random], str]]:
    d = _digits
    return [
        lambda rng: f"010-{d(rng, 4)}-{d(rng, 4)}",
        lambda rng: f"010{d(rng, 4)}{d(rng, 4)}",
        lambda rng: f"010 {d(rng, 4)} {d(rng, 4)}",
        lambda rng: f"010.{d(rng, 4)}.{d(rng, 4)}",
        lambda rng: f"01{rng.choice('16789')}-{d(rng, rng.choice((3, 4)))}-{d(rng, 4)}",
        lambda rng: f"02-{d(rng, rng.choice((3, 4)))}-{d(rng, 4)}",
        lambda rng: f"(02) {d(rng, 3)}-{d(rng, 4)}",
        lambda rng: f"0{rng.choice('3456')}{rng.choice('12345')}-{d(rng, 3)}-{d(rng, 4)}",
        lambda rng: f"0{rng.choice('3456')}{rng.choice('12345')}{d(rng, 4)}{d(rng, 4)}",
        lambda rng: f"070-{d(rng, 4)}-{d(rng, 4)}",
        lambda rng: f"050{rng.choice('2345678')}-{d(rng, 4)}-{d(rng, 4)}",
        lambda rng: f"+82-10-{d(rng, 4)}-{d(rng, 4)}",
        lambda rng: f"+82 10 {d(rng, 4)} {d(rng, 4)}",
        lambda rng: f"+8210{d(rng, 4)}{d(rng, 4)}",
        lambda rng: f"+82-2-{d(rng, 3)}-{d(rng, 4)}",
        lambda rng: f"+82 (0)31-{d(rng, 3)}-{d(rng, 4)}",
    ]


# Every Korean form: mobile (010 dashed, plain, spaced, dotted; 011/016-019), Seoul 02 (also in
# parentheses), the other areas 0[3-6][1-5] (dashed and plain), VoIP 070, personal 050x, +82.
KR_PHONE_FORMS = _kr_forms()


def phone_kr(rng: random.Random) -> str:
    return rng.choice(KR_PHONE_FORMS)(rng)


def phone_intl(rng: random.Random) -> str:
    area, exch = rng.randrange(200, 1000), rng.randrange(200, 1000)
    return rng.choice(
        [
            f"+1 {area} {exch} {_digits(rng, 4)}",
            f"({area}) {exch}-{_digits(rng, 4)}",
            f"{area}-{exch}-{_digits(rng, 4)}",
            f"+44 20 {_digits(rng, 4)} {_digits(rng, 4)}",
            f"+49 30 {_digits(rng, 8)}",
            f"+81-3-{_digits(rng, 4)}-{_digits(rng, 4)}",
            f"020 {_digits(rng, 4)} {_digits(rng, 4)}",
        ]
    )


def _b64url(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(n))


def jwt(rng: random.Random) -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(f'{{"sub":"{rng.randrange(10**6)}"}}'.encode()).decode()
    return f"{head}.{body.rstrip('=')}.{_b64url(rng, 43)}"


def token(rng: random.Random, n: int = 32) -> str:
    t = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n - 1))
    return t + rng.choice(string.digits)


def aws_key_id(rng: random.Random) -> str:
    return rng.choice(["AKIA", "ASIA"]) + "".join(
        rng.choice(string.ascii_uppercase + "234567") for _ in range(16)
    )


def aws_secret(rng: random.Random) -> str:
    chars = string.ascii_letters + string.digits + "/+"
    return "".join(rng.choice(chars) for _ in range(38)) + rng.choice("ABCXYZ") + "7"


_IBAN = {"DE": ("n", 18), "GB": ("GB", 18), "FR": ("n", 23), "NL": ("NL", 14), "ES": ("n", 20)}


def iban(rng: random.Random, valid: bool = True) -> str:
    country = rng.choice(sorted(_IBAN))
    kind, n = _IBAN[country]
    if kind == "GB":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + _digits(rng, 14)
    elif kind == "NL":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + _digits(rng, 10)
    else:
        bban = _digits(rng, n)
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    if not valid:  # any other check number in 2-98 fails mod-97
        check = rng.choice([c for c in range(2, 99) if c != check])
    s = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(s[i : i + 4] for i in range(0, len(s), 4))
    return s


def rrn_dashed(rng: random.Random) -> str:
    """A registration number with its dash (without it, a context word is needed)."""
    while True:
        value, _ = rrn(rng, rng.random() < 0.3, None)
        if "-" in value:
            return value


# Values that are personal data in full (the whole value is what a rule replaces), by kind.
WHOLE_VALUES: dict[str, Callable[[random.Random], str]] = {
    "email": email,
    "card": card,
    "phone_kr": phone_kr,
    "phone_intl": phone_intl,
    "jwt": jwt,
    "aws_key_id": aws_key_id,
    "iban": iban,
    "rrn": rrn_dashed,
}


def _text(rng: random.Random, value: str, context: str = "") -> str:
    before = [rng.choice(WORDS) for _ in range(rng.randrange(0, 5))]
    after = [rng.choice(WORDS) for _ in range(rng.randrange(0, 5))]
    if context:
        before.append(context)
    head = " ".join(before)
    tail = " ".join(after)
    head = head + rng.choice(SEPARATORS) if head else ""
    tail = rng.choice(SEPARATORS) + tail if tail else ""
    return f"{head}{value}{tail}"


def _contain(rng: random.Random, text: str) -> Any:
    """``text`` in a random container, at a random depth."""
    shape = rng.randrange(6)
    if shape == 0:
        return text
    if shape == 1:
        return {"event": text, "count": 3}
    if shape == 2:
        return {"note": [1, {"detail": text}], "ok": True}
    if shape == 3:
        return ["x", (2.5, text)]
    if shape == 4:
        return ({"a": {"b": [text]}},)
    return {"payload": {"items": [{"desc": "item"}, {"desc": text}]}}


# Each kind: a function giving (the value to hide, the text it is embedded in).
def _pos_kinds() -> dict[str, Callable[[random.Random], tuple[str, str]]]:
    def plain(fn: Callable[[random.Random], str]) -> Callable[[random.Random], tuple[str, str]]:
        def make(rng: random.Random) -> tuple[str, str]:
            v = fn(rng)
            return v, _text(rng, v)

        return make

    def rrn_kind(foreigner: bool, post: bool) -> Callable[[random.Random], tuple[str, str]]:
        def make(rng: random.Random) -> tuple[str, str]:
            v, word = rrn(rng, foreigner, post)
            return v, _text(rng, v, word)

        return make

    def bearer(rng: random.Random) -> tuple[str, str]:
        t = token(rng, rng.randrange(20, 48))
        return t, _text(rng, f"Authorization: Bearer {t}" if rng.random() < 0.5 else f"Bearer {t}")

    def basic(rng: random.Random) -> tuple[str, str]:
        t = base64.b64encode(f"user{rng.randrange(99)}:{token(rng, 12)}".encode()).decode()
        return t, _text(rng, f"Basic {t}")

    def aws_secret_kind(rng: random.Random) -> tuple[str, str]:
        s = aws_secret(rng)
        lead = rng.choice(["aws_secret_access_key = ", "AWS secret ", "aws key ", "secret: "])
        return s, _text(rng, lead + s)

    def url_creds(rng: random.Random) -> tuple[str, str]:
        pw = token(rng, 14)
        scheme = rng.choice(["https", "postgres", "redis", "amqp", "mysql"])
        return pw, _text(rng, f"{scheme}://svc_user:{pw}@db.internal:5432/app")

    def query(rng: random.Random) -> tuple[str, str]:
        t = token(rng, 24)
        name = rng.choice(["token", "access_token", "api_key", "password", "sig", "apiKey"])
        return t, _text(rng, f"GET /cb?page=2&{name}={t}&lang=ko")

    def assignment(rng: random.Random) -> tuple[str, str]:
        t = token(rng, 16)
        name = rng.choice(["password", "db_password", "client_secret", "refresh_token", "pwd"])
        form = rng.choice([f"{name}={t}", f'"{name}": "{t}"', f"{name}: {t}"])
        return t, _text(rng, form)

    def pem(rng: random.Random) -> tuple[str, str]:
        body = "\n".join(token(rng, 64) for _ in range(4))
        kind = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"])
        return body, _text(rng, f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----")

    return {
        "email": plain(email),
        "card": plain(card),
        "rrn_pre2020": rrn_kind(False, False),
        "rrn_post2020": rrn_kind(False, True),
        "frn_pre2020": rrn_kind(True, False),
        "frn_post2020": rrn_kind(True, True),
        "phone_kr": plain(phone_kr),
        "phone_intl": plain(phone_intl),
        "jwt": plain(jwt),
        "bearer": bearer,
        "basic": basic,
        "aws_key_id": plain(aws_key_id),
        "aws_secret": aws_secret_kind,
        "iban": plain(iban),
        "url_credentials": url_creds,
        "query_parameter": query,
        "key_value_in_text": assignment,
        "pem": pem,
    }


POSITIVE_KINDS = _pos_kinds()


def positives(seed: int, n: int) -> list[tuple[str, str, Any]]:
    rng = random.Random(seed)
    kinds = sorted(POSITIVE_KINDS)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        value, text = POSITIVE_KINDS[kind](rng)
        out.append((kind, value, _contain(rng, text)))
    return out


# --- near-misses --------------------------------------------------------------------------------


def _bad_card(rng: random.Random) -> str:
    c = card(rng)
    last = str((int(c[-1]) + rng.randrange(1, 10)) % 10)
    return c[:-1] + last


def _bad_rrn(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:  # checksum failure, born before the reform
        v, _ = rrn(rng, rng.random() < 0.3, False)
        digits = v.replace("-", "")
        wrong = str((int(digits[-1]) + rng.randrange(1, 10)) % 10)
        return f"{digits[:6]}-{digits[6:12]}{wrong}"
    if form == 1:  # no such date
        month, day = rng.choice([(13, 1), (0, 5), (2, 30), (4, 31), (rng.randrange(13, 100), 10)])
        return f"{rng.randrange(100):02d}{month:02d}{day:02d}-{rng.choice('1234')}{_digits(rng, 6)}"
    born = _date(rng, TODAY + datetime.timedelta(days=2), datetime.date(2099, 12, 31))
    return f"{born:%y%m%d}-{rng.choice('3478')}{_digits(rng, 6)}"  # born in the future


def _barcode(rng: random.Random) -> str:
    body = "880" + _digits(rng, 9)
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _timestamp(rng: random.Random) -> str:
    t = datetime.datetime(2020, 1, 1) + datetime.timedelta(seconds=rng.randrange(7 * 365 * 86400))
    epoch = int(t.replace(tzinfo=datetime.timezone.utc).timestamp())
    return rng.choice(
        [
            t.isoformat() + "Z",
            t.strftime("%Y-%m-%d %H:%M:%S"),
            t.strftime("%Y-%m-%dT%H:%M:%S.123+09:00"),
            str(epoch),
            str(epoch * 1000 + rng.randrange(1000)),
            str(epoch * 1_000_000 + rng.randrange(10**6)),
            t.strftime("%d/%m/%Y"),
            t.strftime("%Y.%m.%d"),
            t.strftime("%b %d, %Y"),
        ]
    )


_NEAR: dict[str, Callable[[random.Random], str]] = {
    "trace_id": lambda rng: f"{rng.getrandbits(128):032x}",
    "span_id": lambda rng: f"{rng.getrandbits(64):016x}",
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "sha256": lambda rng: f"{rng.getrandbits(256):064x}",
    "git_sha": lambda rng: f"{rng.getrandbits(160):040x}",
    "timestamp": _timestamp,
    "version": lambda rng: rng.choice(
        [
            f"{rng.randrange(10)}.{rng.randrange(30)}.{rng.randrange(100)}",
            f"v{rng.randrange(5)}.{rng.randrange(20)}.{rng.randrange(9)}-rc.{rng.randrange(9)}",
            f"{rng.randrange(3)}.{rng.randrange(99)}.{rng.randrange(99)}+build.{rng.randrange(999)}",
        ]
    ),
    "amount": lambda rng: rng.choice(
        [
            f"${rng.randrange(10**7):,}.{rng.randrange(100):02d}",
            f"₩{rng.randrange(10**9):,}",
            f"{rng.randrange(10**8)}.{rng.randrange(100):02d} KRW",
            f"€ {rng.randrange(10**6)},50",
        ]
    ),
    "duration": lambda rng: rng.choice(
        [f"{rng.randrange(10**4)}ms", f"{rng.random() * 10:.3f}s", f"{rng.randrange(10**10)}ns"]
    ),
    "host_port": lambda rng: rng.choice(
        [
            f"127.0.0.1:{rng.randrange(1024, 65536)}",
            f"db.internal:{rng.randrange(1, 65536)}",
            f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}:6379",
            f"[::1]:{rng.randrange(1, 65536)}",
            f"0.0.0.0:{rng.randrange(8000, 9000)}",
        ]
    ),
    "order_number": lambda rng: rng.choice(
        [
            f"ORD-{rng.randrange(20200101, 20261231)}-{rng.randrange(10**6):06d}",
            f"#{rng.randrange(10**7)}",
            f"INV-2026-{rng.randrange(10**8):08d}",
            f"order {rng.randrange(2020, 2027)}{_digits(rng, 9)}",
        ]
    ),
    "luhn_failing_card": _bad_card,
    "bad_rrn": _bad_rrn,
    "barcode_880": _barcode,
    "iban_bad_checksum": lambda rng: iban(rng, valid=False),
    "count": lambda rng: f"rows={rng.randrange(10**9)}",
    "password_word": lambda rng: rng.choice(  # at the end of the text: no value follows
        [
            "wrong password",
            "password reset requested",
            "the password field is required",
            "password:",
            "token expired",
            "session started",
            "api key rotated",
            "비밀번호 변경",
            "basic plan",
            "bearer of bad news",
            "Authorization header missing",
        ]
    ),
    "prose": lambda rng: rng.choice(
        [
            "결제가 완료되었습니다",
            "주문이 접수되었습니다",
            "ご注文ありがとうございます",
            "Die Bestellung wurde versandt",
            "Le paiement a échoué",
            "retrying in 5 seconds",
            "cache hit ratio 0.93",
            "user 42 logged in",
            "page 3 of 10",
        ]
    ),
}
NEAR_KINDS = sorted(_NEAR)


def near_misses(seed: int, n: int) -> list[tuple[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = NEAR_KINDS[i % len(NEAR_KINDS)]
        text = _NEAR[kind](rng)
        # a key word with no value stays last: what follows a "password:" would be its value
        text = f"{rng.choice(WORDS)} {text}" if kind == "password_word" else _text(rng, text)
        out.append((kind, _contain(rng, text)))
    return out
