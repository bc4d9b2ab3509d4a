"""The judge: strict parsing, ties, directed-pair verdicts, and the verification job with recorded replies."""

import json
from pathlib import Path

import pytest

from jobs.models import ItemStatus, JobStatus
from synthesis.actions import SynthesisError, do_enqueue_synthesis, do_enqueue_verification
from synthesis.configs import SynthesisConfig, VerificationConfig
from synthesis.models import (
    Backend,
    ModelEndpoint,
    PairType,
    PreferencePair,
    Verdict,
    Verification,
    VerificationStatus,
)
from synthesis.verification import RankingParseError, candidate_order, pair_verdict, parse_ranking, ranks_by_role

from . import servers

REPLIES = json.loads((Path(__file__).parent / "fixtures" / "judge_replies.json").read_text())


@pytest.mark.parametrize(("name", "expected"), [
    ("clean", {"A": 1, "B": 2, "C": 3}),
    ("fenced", {"A": 2, "B": 1, "C": 3}),
    ("tie", {"A": 1, "B": 1, "C": 2}),
    ("prose", {"A": 3, "B": 2, "C": 1}),
    ("bare", {"A": 1, "B": 3, "C": 2}),
])
def test_it_parses_valid_rankings(name, expected):
    assert parse_ranking(REPLIES[name]) == expected


@pytest.mark.parametrize("name", ["truncated", "string_ranks", "missing_letter", "out_of_range", "no_json"])
def test_it_rejects_malformed_rankings_instead_of_guessing(name):
    with pytest.raises(RankingParseError):
        parse_ranking(REPLIES[name])


def test_it_accepts_only_strict_preferences_in_the_intended_direction():
    ranks = {"enhanced": 1, "original": 1, "corrupted": 2}
    assert pair_verdict(ranks, PairType.ENHANCED_CORRUPTED) == Verdict.ACCEPTED
    assert pair_verdict(ranks, PairType.ENHANCED_ORIGINAL) == Verdict.REJECTED  # a tie is not a preference
    assert pair_verdict(ranks, PairType.ORIGINAL_CORRUPTED) == Verdict.ACCEPTED
    assert pair_verdict({"enhanced": 3, "original": 2, "corrupted": 1}, PairType.ENHANCED_CORRUPTED) == "rejected"
    assert pair_verdict({}, PairType.ENHANCED_CORRUPTED) == Verdict.UNVERIFIED


def test_it_shuffles_candidates_reproducibly_per_seed_and_item():
    assert candidate_order(0, "v:1:2:3") == candidate_order(0, "v:1:2:3")
    orders = {tuple(candidate_order(0, f"v:{n}:2:3")) for n in range(30)}
    assert len(orders) > 1  # not always the same position for the enhanced text
    order = candidate_order(0, "v:1:2:3")
    assert ranks_by_role({"A": 1, "B": 2, "C": 3}, order) == {order[0]: 1, order[1]: 2, order[2]: 3}


@pytest.fixture
def synthesized(django_capture_on_commit_callbacks, tiny_endpoint, questions):
    config = SynthesisConfig(endpoint="tiny", attributes=["clarity", "overall"], split="train")
    with django_capture_on_commit_callbacks(execute=True):
        job = do_enqueue_synthesis(config)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    return job


@pytest.fixture
def judge_server():
    started = []

    def start(replies):
        server = servers.ScriptedServer(servers.replay(replies))
        started.append(server)
        ModelEndpoint.objects.create(name="judge", backend=Backend.OPENAI_HTTP, model="recorded-judge",
                                     base_url=server.base_url, max_retries=0, max_concurrency=4,
                                     backoff_base_s=0.01)
        return server

    yield start
    for server in started:
        server.close()


def verify(capture, **options):
    with capture(execute=True):
        job = do_enqueue_verification(VerificationConfig(**{"endpoint": "judge", **options}))
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_it_turns_rankings_into_pair_verdicts(django_capture_on_commit_callbacks, synthesized, judge_server):
    judge_server([REPLIES["clean"]])
    job = verify(django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED and job.result["verdicts"]["ranked"] == 6
    for verification in Verification.objects.all():
        assert verification.status == VerificationStatus.RANKED and verification.judge_model == "recorded-judge"
        assert verification.replies and verification.prompt_hash and verification.template.kind == "judge"
        expected = ranks_by_role({"A": 1, "B": 2, "C": 3}, verification.order)
        assert verification.ranks == expected
        for pair in PreferencePair.objects.filter(verification=verification):
            assert pair.verdict == pair_verdict(expected, pair.pair_type)
            assert pair.judge_model == "recorded-judge"
    assert not PreferencePair.objects.filter(verdict=Verdict.UNVERIFIED).exists()


@pytest.mark.django_db
def test_it_retries_a_malformed_reply_then_uses_the_valid_one(django_capture_on_commit_callbacks, synthesized,
                                                              judge_server):
    server = judge_server([REPLIES["no_json"], REPLIES["tie"]])
    job = verify(django_capture_on_commit_callbacks, batch_size=1, qids=["t1-c1-q0"], attributes=["clarity"])
    verification = Verification.objects.get()
    assert verification.status == VerificationStatus.RANKED and verification.attempts == 2
    assert server.calls == 2 and job.items.get().status == ItemStatus.SUCCEEDED
    assert server.bodies[1]["temperature"] >= 0.7  # a retry samples, since a greedy judge would repeat itself


@pytest.mark.django_db
def test_it_records_an_unparseable_judgement_and_leaves_pairs_unverified(django_capture_on_commit_callbacks,
                                                                          synthesized, judge_server):
    judge_server([REPLIES["truncated"]])
    job = verify(django_capture_on_commit_callbacks, max_attempts=2)
    assert job.status == JobStatus.SUCCEEDED
    for verification in Verification.objects.all():
        assert verification.status == VerificationStatus.UNPARSEABLE and verification.ranks == {}
        assert verification.attempts == 2 and "Invalid JSON" in verification.error
    assert set(PreferencePair.objects.values_list("verdict", flat=True)) == {Verdict.UNVERIFIED}


@pytest.mark.django_db
def test_it_judges_with_the_tiny_model_and_never_guesses(django_capture_on_commit_callbacks, synthesized):
    with django_capture_on_commit_callbacks(execute=True):
        job = do_enqueue_verification(VerificationConfig(endpoint="tiny", max_attempts=2, attributes=["clarity"]))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and Verification.objects.count() == 3
    for verification in Verification.objects.all():
        assert verification.request["prefill"] == '{"ranks": {"A": '
        if verification.status == VerificationStatus.UNPARSEABLE:  # random weights: junk, recorded as such
            assert verification.ranks == {} and len(verification.replies) == 2


@pytest.mark.django_db
def test_it_does_not_judge_a_triple_twice(django_capture_on_commit_callbacks, synthesized, judge_server):
    server = judge_server([REPLIES["clean"]])
    verify(django_capture_on_commit_callbacks)
    calls = server.calls
    with pytest.raises(SynthesisError, match="No complete"):
        verify(django_capture_on_commit_callbacks, split="test")
    job = verify(django_capture_on_commit_callbacks)
    assert job.result["skipped"] == 6 and server.calls == calls and Verification.objects.count() == 6


@pytest.mark.django_db
def test_it_records_a_failed_judge_call_as_a_failed_item(django_capture_on_commit_callbacks, synthesized):
    server = servers.ScriptedServer(servers.always(503))
    try:
        ModelEndpoint.objects.create(name="judge", backend=Backend.OPENAI_HTTP, model="down", base_url=server.base_url,
                                     max_retries=1, backoff_base_s=0.01)
        job = verify(django_capture_on_commit_callbacks, attributes=["clarity"], max_attempts=1)
    finally:
        server.close()
    assert job.status == JobStatus.SUCCEEDED
    assert job.items.filter(status=ItemStatus.FAILED).count() == 3
    assert "HTTP 503" in job.items.first().error and not Verification.objects.exists()
