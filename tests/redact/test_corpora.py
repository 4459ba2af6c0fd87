"""The default rules on generated corpora: recall of at least 99 % and no false positive."""

from __future__ import annotations

import collections
import json
import random

import pytest

from msatrace._core.redact.engine import Redactor
from tests.redact import corpus

N = 12_000


def _flat(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def test_recall_on_12000_instances_across_the_default_kinds() -> None:
    """At least 99 % of generated personal data and secrets vanish, and at least 95 % per kind."""
    redactor = Redactor()
    instances = corpus.positives(seed=18, n=N)

    missed: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    for kind, value, container in instances:
        out = redactor.value(container)
        if value in _flat(out):
            missed[kind] += 1
            examples.setdefault(kind, _flat(container))

    per_kind = N // len(corpus.POSITIVE_KINDS)
    recall = 1 - sum(missed.values()) / N
    assert recall >= 0.99, (recall, missed, examples)
    assert all(m / per_kind <= 0.05 for m in missed.values()), (missed, examples)


def test_no_false_positive_on_12000_near_misses() -> None:
    """IDs, hashes, timestamps, amounts, versions, ports, failing checksums and barcodes stay."""
    redactor = Redactor()
    instances = corpus.near_misses(seed=81, n=N)

    flagged = [(kind, c, redactor.value(c)) for kind, c in instances if redactor.value(c) != c]

    assert flagged == [], flagged[:10]


def test_both_sides_of_the_october_2020_reform_are_in_the_corpus() -> None:
    """The corpus holds resident and foreigner numbers born before and after October 2020."""
    kinds = {kind for kind, _, _ in corpus.positives(seed=18, n=N)}

    assert {"rrn_pre2020", "rrn_post2020", "frn_pre2020", "frn_post2020"} <= kinds


@pytest.mark.parametrize("form", range(len(corpus.KR_PHONE_FORMS)))
def test_every_korean_phone_form_is_redacted(form: int) -> None:
    """Each Korean phone form (mobile, Seoul, areas, 070, 050x, +82) is redacted in a sentence."""
    redactor = Redactor()
    rng = random.Random(form)
    numbers = [corpus.KR_PHONE_FORMS[form](rng) for _ in range(200)]

    outs = [redactor.text(f"고객 연락처 {n} 입니다") for n in numbers]

    assert outs == ["고객 연락처 [REDACTED:phone] 입니다"] * 200
