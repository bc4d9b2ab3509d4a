"""The synthesis job on the tiny model: normalize then rewrite, provenance on every row, resume without duplicates."""

import pytest

from jobs.models import ItemStatus, JobStatus
from synthesis.actions import SynthesisError, do_enqueue_synthesis
from synthesis.configs import ConfigError, SynthesisConfig
from synthesis.models import Direction, PreferencePair, PromptTemplate, Rewrite, Verdict

pytestmark = pytest.mark.django_db

ATTRIBUTES = ["clarity", "avoidbias"]


def synthesize(capture, owner=None, **options):
    config = SynthesisConfig(**{"endpoint": "tiny", "attributes": ATTRIBUTES, "split": "train", **options})
    with capture(execute=True):
        job = do_enqueue_synthesis(config, owner=owner)
    job.refresh_from_db()
    return job


def test_it_normalizes_then_rewrites_every_question_with_provenance(
    django_capture_on_commit_callbacks, tiny_endpoint, questions, lead
):
    job = synthesize(django_capture_on_commit_callbacks, owner=lead)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.items.filter(status=ItemStatus.SUCCEEDED).count() == 3 + 3 * 2 * 2
    originals = Rewrite.objects.filter(direction=Direction.ORIGINAL)
    assert originals.count() == 3
    rewrites = Rewrite.objects.exclude(direction=Direction.ORIGINAL)
    assert rewrites.count() == 12
    assert set(rewrites.values_list("direction", flat=True)) == {"enhance_hindsight", "corrupt"}  # no unused `more`
    for row in Rewrite.objects.all():
        assert row.text and row.template_id and row.prompt_hash and row.request["messages"]
        assert row.model_name == str(tiny_endpoint.model) and row.backend == "transformers" and row.job_id == job.pk
        assert row.sampling["max_tokens"] == 12 and row.seed == 0 and row.tokens_in > 0 and row.tokens_out > 0
        assert row.generator_key and row.created_at
    for row in rewrites:
        assert row.source.direction == Direction.ORIGINAL and row.source.question_id == row.question_id
        assert row.source.text in row.request["messages"][-1]["content"]  # rewrites start from the normalized text


def test_it_shows_throughput_in_the_job_result(django_capture_on_commit_callbacks, tiny_endpoint, questions):
    job = synthesize(django_capture_on_commit_callbacks)
    assert job.result["generated"] == 15 and job.result["failed"] == 0
    assert job.result["items_per_s"] > 0 and job.result["tokens_per_s"] > 0 and job.result["tokens_out"] > 0
    assert "items/s" in job.log_tail and job.progress_done == job.progress_total == 15


def test_it_uses_hindsight_only_on_the_enhanced_side(django_capture_on_commit_callbacks, tiny_endpoint, questions):
    synthesize(django_capture_on_commit_callbacks)
    enhanced = Rewrite.objects.filter(direction="enhance_hindsight").first()
    corrupted = Rewrite.objects.filter(direction="corrupt").first()
    assert "Final diagnosis: Migraine" in enhanced.request["messages"][-1]["content"]
    assert "Migraine" not in corrupted.request["messages"][-1]["content"]


def test_it_builds_unverified_pairs_with_the_earlier_turns(django_capture_on_commit_callbacks, tiny_endpoint,
                                                          questions):
    synthesize(django_capture_on_commit_callbacks)
    pairs = PreferencePair.objects.all()
    assert pairs.count() == 3 * 2 * 3
    assert set(pairs.values_list("verdict", flat=True)) == {Verdict.UNVERIFIED}
    with_turns = pairs.filter(question__qid="t1-c1-q0").first()
    assert [m["role"] for m in with_turns.context] == ["user", "assistant", "user"]
    for pair in pairs:
        assert pair.chosen_text == pair.chosen.text and pair.rejected_text == pair.rejected.text


def test_it_keeps_finished_outputs_when_run_again(django_capture_on_commit_callbacks, tiny_endpoint, questions):
    first = synthesize(django_capture_on_commit_callbacks)
    before = dict(Rewrite.objects.values_list("pk", "text"))
    second = synthesize(django_capture_on_commit_callbacks)
    assert second.status == JobStatus.SUCCEEDED
    assert second.result["generated"] == 0 and second.result["skipped"] == 15
    assert dict(Rewrite.objects.values_list("pk", "text")) == before
    assert first.pk != second.pk


def test_it_regenerates_only_what_is_missing(django_capture_on_commit_callbacks, tiny_endpoint, questions):
    synthesize(django_capture_on_commit_callbacks)
    lost = Rewrite.objects.filter(direction="corrupt", attribute__key="clarity")
    lost_ids = set(lost.values_list("pk", flat=True))
    lost.delete()
    job = synthesize(django_capture_on_commit_callbacks)
    assert job.result["generated"] == 3 and job.result["skipped"] == 12
    assert Rewrite.objects.count() == 15 and not lost_ids & set(Rewrite.objects.values_list("pk", flat=True))


def test_it_treats_a_new_template_version_as_new_work(django_capture_on_commit_callbacks, tiny_endpoint, questions,
                                                       lead):
    from synthesis.actions import do_supersede_template

    synthesize(django_capture_on_commit_callbacks, attributes=["clarity"])
    old = PromptTemplate.objects.get(kind="corrupt", attribute__key="clarity", status="active")
    do_supersede_template(old, lead, old.system_text, old.user_text + "\nOne sentence.", old.placeholders)
    job = synthesize(django_capture_on_commit_callbacks, attributes=["clarity"])
    assert job.result["generated"] == 3  # only the corrupt rewrites of the new version
    assert Rewrite.objects.filter(direction="corrupt").count() == 6


def test_it_rejects_an_unknown_direction_or_attribute(tiny_endpoint, questions):
    with pytest.raises(ConfigError, match="Unknown direction"):
        SynthesisConfig(endpoint="tiny", directions=["more"])
    with pytest.raises(SynthesisError, match="Unknown attribute"):
        do_enqueue_synthesis(SynthesisConfig(endpoint="tiny", attributes=["kindness"]))


def test_it_rejects_an_empty_selection(tiny_endpoint, questions):
    with pytest.raises(SynthesisError, match="no questions"):
        do_enqueue_synthesis(SynthesisConfig(endpoint="tiny", split="test"))


def test_it_selects_explicit_question_ids(django_capture_on_commit_callbacks, tiny_endpoint, questions):
    job = synthesize(django_capture_on_commit_callbacks, qids=["t2-c0-q0"], attributes=["focus"])
    assert job.items.count() == 1 + 2
    assert set(Rewrite.objects.values_list("question__qid", flat=True)) == {"t2-c0-q0"}


def test_it_runs_local_gpu_endpoints_on_the_gpu_queue(tiny_endpoint, questions):
    tiny_endpoint.device = "cuda"
    tiny_endpoint.save()
    job = do_enqueue_synthesis(SynthesisConfig(endpoint="tiny", attributes=["focus"]))
    assert job.queue == "gpu"


@pytest.fixture
def http_endpoint():
    from synthesis.models import Backend, ModelEndpoint

    from . import servers

    started = []

    def make(behave, **fields):
        server = servers.ScriptedServer(behave)
        started.append(server)
        ModelEndpoint.objects.create(**{"name": "remote", "backend": Backend.OPENAI_HTTP, "model": "remote-model",
                                        "base_url": server.base_url, "max_retries": 1, "backoff_base_s": 0.01,
                                        **fields})
        return server

    yield make
    for server in started:
        server.close()


def test_it_records_failed_items_and_finishes_when_the_server_errors(django_capture_on_commit_callbacks, questions,
                                                                     http_endpoint):
    from . import servers

    server = http_endpoint(servers.always(500))
    job = synthesize(django_capture_on_commit_callbacks, endpoint="remote", max_attempts=1)
    assert job.status == JobStatus.SUCCEEDED  # never a crashed job
    assert job.items.filter(status=ItemStatus.FAILED).count() == 15 and not Rewrite.objects.exists()
    assert "HTTP 500" in job.items.get(key="norm:t1-c1-q0").error
    assert "normalization failed" in job.items.get(key="rw:t1-c1-q0:clarity:corrupt").error
    assert job.result["failed"] == 15 and server.calls == 3 * 2


def test_it_completes_the_failed_items_on_retry(django_capture_on_commit_callbacks, questions, http_endpoint):
    from jobs.actions import do_retry_job

    from . import servers

    state = {"down": True}

    def behave(handler, call, body):
        if state["down"] and "CLINICIAN QUESTION" in body["messages"][-1]["content"]:
            handler.reply(503, {"error": "down"})
        else:
            handler.reply(200, servers.ok_body(f"Rewrite {call}?"))

    http_endpoint(behave)
    job = synthesize(django_capture_on_commit_callbacks, endpoint="remote", max_attempts=1)
    assert job.items.filter(status=ItemStatus.FAILED).count() == 12
    normalized = set(Rewrite.objects.values_list("pk", flat=True))
    state["down"] = False
    job.status = JobStatus.FAILED
    job.save(update_fields=["status"])
    with django_capture_on_commit_callbacks(execute=True):
        do_retry_job(job)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and not job.items.exclude(status=ItemStatus.SUCCEEDED).exists()
    assert normalized <= set(Rewrite.objects.values_list("pk", flat=True)) and Rewrite.objects.count() == 15
    assert job.result["generated"] == 12 and job.result["skipped"] == 0



@pytest.mark.slow
def test_it_runs_the_demo_pipeline_on_smollm2(django_capture_on_commit_callbacks, questions, settings):
    """SmolLM2 normalizes, rewrites and judges one question; every output is a real, non-empty text."""
    from synthesis.actions import do_enqueue_verification, do_register_local_model
    from synthesis.configs import VerificationConfig
    from synthesis.models import Verification

    path = settings.MODELS_DIR / "smollm2-135m-instruct"
    if not (path / "config.json").exists():
        pytest.skip("SmolLM2 not prepared: run `python manage.py prepare_demo_model`")
    do_register_local_model("smollm2", path, default=True, device="cpu", default_sampling={"max_tokens": 48})
    job = synthesize(django_capture_on_commit_callbacks, endpoint="smollm2", attributes=["focus"],
                     qids=["t1-c1-q0"])
    assert job.status == JobStatus.SUCCEEDED and job.result["generated"] == 3, job.items.values("key", "error")
    with django_capture_on_commit_callbacks(execute=True):
        verify = do_enqueue_verification(VerificationConfig(endpoint="smollm2", max_attempts=2))
    verify.refresh_from_db()
    assert verify.status == JobStatus.SUCCEEDED
    verification = Verification.objects.get()
    assert verification.replies[0]["text"].startswith('{"ranks": {"A": ')
    assert PreferencePair.objects.filter(verification=verification).count() == 3
