"""plain_validator: for every body, None or exactly what the DRF serializer validates it to, never anything else."""

import itertools
import random

import pytest
from rest_framework import serializers

from alfa_platform.plain_data import UnsupportedSerializer, plain_validator
from annotation.serializers import SkipSerializer, SubmitSerializer

ENTRY = {"attribute": "clarity", "pick": "left", "strength": "clearly", "reasons": [], "rationale": "why",
         "time_ms": 1200}
# Values DRF keeps, coerces, trims or refuses, for each kind of field.
VARIANTS = {
    "attribute": ["clarity", "x" * 32, "x" * 33, "", " clarity", "clar\x00ity", "\ud800", "é", 5, None, True],
    "pick": ["left", "right", "tie", "both_bad", "LEFT", "", None, 1, ["left"]],
    "strength": ["clearly", "slightly", "", "huge", None, 0],
    "reasons": [[], ["unsafe"], ["unsafe", "leading"], ["nope"], "unsafe", None, [1]],
    "rationale": ["", "because", " padded ", "x" * 5000, "x" * 5001, "a\x00b", None, 3.5],
    "time_ms": [0, 86_400_000, 86_400_001, -1, None, "1500", 1.0, 1.5, True, "x"],
}


def entries():
    rng = random.Random(7)
    yield dict(ENTRY)
    for key, values in VARIANTS.items():
        for value in values:
            yield {**ENTRY, key: value}
        yield {k: v for k, v in ENTRY.items() if k != key}  # the key missing
    for _ in range(300):
        yield {key: rng.choice(values) for key, values in VARIANTS.items() if rng.random() < 0.85}


def bodies():
    for entry, duration, want_next in itertools.product(entries(), [2000, None, -5, "7", "missing"],
                                                        [True, False, "yes", "missing"]):
        body = {"judgments": [entry, ENTRY] if duration != "7" else [entry]}
        if duration != "missing":
            body["duration_ms"] = duration
        if want_next != "missing":
            body["next"] = want_next
        yield body
    yield from ({"judgments": []}, {"judgments": "no"}, {}, {"judgments": [ENTRY], "extra": 1}, [ENTRY], None, "x")


def test_it_returns_the_serializers_validated_data_or_nothing():
    validate = plain_validator(SubmitSerializer)
    plain = 0
    for body in bodies():
        serializer = SubmitSerializer(data=body)
        valid = serializer.is_valid()
        fast = validate(body)
        if fast is not None:
            plain += 1
            assert valid, body
            assert fast == serializer.validated_data, body
    assert plain > 200, plain  # the well-formed bodies take the fast path


def test_it_serves_the_plain_body_the_page_sends():
    body = {"judgments": [{"attribute": "clarity", "pick": "left", "time_ms": 1200}], "duration_ms": 2000,
            "next": True}
    assert plain_validator(SubmitSerializer)(body) == {
        "judgments": [{"attribute": "clarity", "pick": "left", "time_ms": 1200}], "duration_ms": 2000,
        "next": True}
    assert plain_validator(SkipSerializer)({"reason": "other"}) == {"reason": "other", "next": False}


class WithHook(serializers.Serializer):
    name = serializers.CharField()

    def validate_name(self, value):
        return value.upper()


class WithEmail(serializers.Serializer):
    email = serializers.EmailField()


@pytest.mark.parametrize("serializer_class", [WithHook, WithEmail])
def test_it_refuses_serializers_it_cannot_reproduce(serializer_class):
    with pytest.raises(UnsupportedSerializer):
        plain_validator(serializer_class)
