"""State changes of synthesis: enqueue jobs, build pairs, override verdicts, edit the catalogue and endpoints."""

from collections.abc import Iterable, Sequence
from os import PathLike
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.recording import record_event
from corpus.models import Question
from jobs.actions import do_enqueue_job
from jobs.models import Job

from .configs import ConfigError, PairConfig, SynthesisConfig, VerificationConfig
from .contexts import pair_context
from .models import (
    Attribute,
    Backend,
    Direction,
    ModelEndpoint,
    PreferencePair,
    PromptTemplate,
    Rewrite,
    TemplateKind,
    TemplateStatus,
    Verdict,
    Verification,
    VerificationStatus,
)
from .pairs import Triple, select_triples
from .prompts import LintIssue, lint_template
from .secrets import url_origin
from .verification import pair_verdict

C = TypeVar("C", SynthesisConfig, VerificationConfig, PairConfig)
AnyUser = User | AnonymousUser  # what a request holds


class SynthesisError(Exception):
    """A synthesis request that cannot be carried out as asked."""


# Selection ------------------------------------------------------------------------------------------------------

def select_questions(config: SynthesisConfig) -> list[Question]:
    """Return the questions a synthesis config selects, in qid order."""
    questions = Question.objects.select_related("thread__post").order_by("qid")
    if config.qids:
        questions = questions.filter(qid__in=config.qids)
        missing = set(config.qids) - set(questions.values_list("qid", flat=True))
        if missing:
            raise SynthesisError(f"Unknown question id(s): {', '.join(sorted(missing)[:10])}.")
    elif config.split:
        questions = questions.filter(thread__post__split=config.split)
    if config.question_types:
        questions = questions.filter(question_type__in=config.question_types)
    if config.limit:
        questions = questions[: config.limit]
    return list(questions)


def get_endpoint(name: str) -> ModelEndpoint:
    try:
        return ModelEndpoint.objects.get(name=name, is_active=True)
    except ModelEndpoint.DoesNotExist as exc:
        raise SynthesisError(f"No active model endpoint named {name!r}.") from exc


def active_template(kind: str, attribute: Attribute | None = None) -> PromptTemplate:
    template = PromptTemplate.objects.filter(kind=kind, attribute=attribute, status=TemplateStatus.ACTIVE).first()
    if template is None:
        scope = attribute.key if attribute else "all attributes"
        raise SynthesisError(f"No active {kind} template for {scope}.")
    return template


def get_attributes(keys: Sequence[str]) -> list[Attribute]:
    found = {a.key: a for a in Attribute.objects.filter(key__in=keys)}
    if missing := [key for key in keys if key not in found]:
        raise SynthesisError(f"Unknown attribute(s): {', '.join(missing)}.")
    return [found[key] for key in keys]


def pin_templates(attributes: Iterable[Attribute], directions: Sequence[str]) -> dict[str, int]:
    """Return {slot: template id}: the versions a job uses, fixed at enqueue so a resume uses the same ones."""
    pinned = {"normalize": active_template(TemplateKind.NORMALIZE).pk}
    for attribute in attributes:
        for direction in directions:
            pinned[f"{direction}:{attribute.key}"] = active_template(direction, attribute).pk
    return pinned


# Jobs -----------------------------------------------------------------------------------------------------------

def do_enqueue_synthesis(config: SynthesisConfig, owner: User | None = None, queue: str | None = None) -> Job:
    """Queue a synthesis job: one item per question to normalize and one per question x attribute x direction."""
    endpoint = get_endpoint(config.endpoint)
    attributes = get_attributes(config.attributes)
    questions = select_questions(config)
    if not questions:
        raise SynthesisError("The selection holds no questions.")
    items = [f"norm:{q.qid}" for q in questions]
    items += [f"rw:{q.qid}:{a.key}:{d}" for q in questions for a in attributes for d in config.directions]
    params = {"config": config.to_dict(), "templates": pin_templates(attributes, config.directions)}
    return do_enqueue_job("synthesize", params, owner=owner, queue=queue or endpoint.default_queue, items=items)


def do_enqueue_verification(config: VerificationConfig, owner: User | None = None,
                            queue: str | None = None) -> Job:
    """Queue a verification job: one item per (enhanced, original, corrupted) triple not judged yet."""
    endpoint = get_endpoint(config.endpoint)
    template = active_template(TemplateKind.JUDGE)
    pair_config = PairConfig(attributes=config.attributes, qids=config.qids,
                             enhanced_direction=config.enhanced_direction, generator_model=config.generator_model)
    rewrites = Rewrite.objects.filter(question__thread__post__split=config.split) if config.split else None
    triples = [t for t in select_triples(pair_config, rewrites) if t.is_complete]
    if config.limit:
        triples = triples[: config.limit]
    if not triples:
        raise SynthesisError("No complete (enhanced, original, corrupted) triples to verify in this selection.")
    items = [f"v:{t.enhanced.pk}:{t.original.pk}:{t.corrupted.pk}" for t in triples if t.enhanced and t.corrupted]
    params = {"config": config.to_dict(), "template": template.pk}
    return do_enqueue_job("verify", params, owner=owner, queue=queue or endpoint.default_queue, items=items)


def do_enqueue_pair_build(config: PairConfig, owner: User | None = None) -> Job:
    return do_enqueue_job("build_pairs", {"config": config.to_dict()}, owner=owner)


# Pairs ----------------------------------------------------------------------------------------------------------

def verifications_by_triple(triples: list[Triple]) -> dict[tuple[int | None, ...], Verification]:
    """Return {(E, O, C) ids: verification}, preferring the newest ranked one, in one query."""
    enhanced_ids = [t.enhanced.pk for t in triples if t.enhanced is not None and t.is_complete]
    best: dict[tuple[int | None, ...], Verification] = {}
    rows = Verification.objects.filter(enhanced_id__in=enhanced_ids).order_by("created_at", "pk")
    for verification in rows:
        key = (verification.enhanced_id, verification.original_id, verification.corrupted_id)
        if verification.status == VerificationStatus.RANKED or best.get(key, verification).status != "ranked":
            best[key] = verification
    return best


def do_build_pairs(config: PairConfig, job: Job | None = None) -> dict[str, int]:
    """Create or refresh the pairs of every triple in the selection; a lead's override is never overwritten."""
    triples = select_triples(config)
    verifications = verifications_by_triple(triples)
    counts = {"created": 0, "updated": 0}
    contexts: dict[int, list[dict[str, str]]] = {}
    with transaction.atomic():
        for triple in triples:
            key = (getattr(triple.enhanced, "pk", None), triple.original.pk, getattr(triple.corrupted, "pk", None))
            verification = verifications.get(key)
            question = triple.original.question
            if question.pk not in contexts:
                contexts[question.pk] = pair_context(question)
            for pair_type, chosen, rejected in triple.pair_members():
                created = upsert_pair(pair_type, chosen, rejected, verification, contexts[question.pk], job)
                counts["created" if created else "updated"] += 1
    return counts


ROLE_NAMES: dict[str, str] = {Direction.ORIGINAL: "original", Direction.CORRUPT: "corrupted"}


def upsert_pair(pair_type: str, chosen: Rewrite, rejected: Rewrite, verification: Verification | None,
                context: list[dict[str, str]], job: Job | None) -> bool:
    ranks = verification.ranks if verification and verification.status == VerificationStatus.RANKED else {}
    judge_verdict = pair_verdict(ranks, pair_type)
    attribute = chosen.attribute or rejected.attribute
    assert attribute is not None  # a pair's rewrites are rewrites of an attribute
    winner = ROLE_NAMES.get(chosen.direction, "enhanced")
    loser = ROLE_NAMES.get(rejected.direction, "enhanced")
    pair, created = PreferencePair.objects.get_or_create(
        chosen=chosen, rejected=rejected, attribute=attribute, pair_type=pair_type,
        defaults={"question": chosen.question, "chosen_text": chosen.text, "rejected_text": rejected.text,
                  "context": context, "pair_id": f"{chosen.question.qid}_{attribute.key}_{winner}_{loser}",
                  "job": job},
    )
    pair.verification = verification
    pair.judge_verdict = judge_verdict
    pair.judge_model = verification.judge_model if verification else ""
    pair.verdict = pair.override_verdict or judge_verdict
    pair.save(update_fields=["verification", "judge_verdict", "judge_model", "verdict", "updated_at"])
    return created


def do_override_verdict(pair: PreferencePair, verdict: str, user: User, reason: str) -> PreferencePair:
    """Record a lead's verdict on a pair with who and why; an empty verdict returns the pair to the judge's."""
    reason = (reason or "").strip()
    if verdict and verdict not in Verdict.values:
        raise ValidationError(f"Unknown verdict {verdict!r}.")
    if verdict and not reason:
        raise ValidationError("Say why you override the judge.")
    pair.override_verdict = verdict or ""
    pair.override_reason = reason
    pair.overridden_by = user
    pair.overridden_at = timezone.now()
    pair.verdict = verdict or pair.judge_verdict
    pair.save(update_fields=["override_verdict", "override_reason", "overridden_by", "overridden_at", "verdict",
                             "updated_at"])
    return pair


# Catalogue ------------------------------------------------------------------------------------------------------

def do_update_attribute(attribute: Attribute, user: User, **fields: Any) -> Attribute:
    for name, value in fields.items():
        setattr(attribute, name, value)
    attribute.updated_by = user
    attribute.full_clean()
    attribute.save()
    return attribute


def do_save_template(template: PromptTemplate, user: User, system_text: str, user_text: str, placeholders: list[str],
                     notes: str = "") -> PromptTemplate:
    """Edit a template in place while it has produced nothing; otherwise supersede it with a new version."""
    if template.pk and not template.has_produced_data():
        template.system_text, template.user_text, template.placeholders = system_text, user_text, placeholders
        template.notes = notes or template.notes
        template.full_clean()
        template.save()
        return template
    return do_supersede_template(template, user, system_text, user_text, placeholders, notes)


def do_supersede_template(template: PromptTemplate, user: User, system_text: str, user_text: str,
                          placeholders: list[str], notes: str = "") -> PromptTemplate:
    """Create the next version of a template and make it the active one; the old one stays for provenance."""
    with transaction.atomic():
        latest = PromptTemplate.objects.filter(kind=template.kind, attribute=template.attribute).aggregate(
            v=Max("version"))["v"] or 0
        new = PromptTemplate(
            kind=template.kind, attribute=template.attribute, version=latest + 1, system_text=system_text,
            user_text=user_text, placeholders=placeholders, supersedes=template, notes=notes, created_by=user,
        )
        new.full_clean(validate_constraints=False)
        active = PromptTemplate.objects.filter(kind=template.kind, attribute=template.attribute,
                                               status=TemplateStatus.ACTIVE)
        superseded = list(active)
        active.update(status=TemplateStatus.SUPERSEDED)
        new.save()
        for old in superseded:
            record_event(old, "template.supersede", before={"status": old.status},
                         after={"status": TemplateStatus.SUPERSEDED}, details={"superseded_by": new.pk})
    return new


def lint_all_templates() -> dict[PromptTemplate, list[LintIssue]]:
    """Return {template: [LintIssue]} for the active templates that have issues."""
    attributes = list(Attribute.objects.all())
    found: dict[PromptTemplate, list[LintIssue]] = {}
    for template in PromptTemplate.objects.filter(status=TemplateStatus.ACTIVE).select_related("attribute"):
        if issues := lint_template(template, attributes):
            found[template] = issues
    return found


# Endpoints ------------------------------------------------------------------------------------------------------

def do_save_endpoint(endpoint: ModelEndpoint, actor: AnyUser | None) -> ModelEndpoint:
    """Validate and save an endpoint for `actor` (None: an operator at the command line); one default of each kind.

    The save registers the key's origin: the worker later sends the key to that scheme://host:port only.
    """
    endpoint.full_clean()
    if actor is not None:
        endpoint.check_editable_by(actor)
    endpoint.api_key_origin = url_origin(endpoint.base_url) if endpoint.api_key_env else ""
    with transaction.atomic():
        if endpoint.is_default_generator:
            ModelEndpoint.objects.exclude(pk=endpoint.pk).update(is_default_generator=False)
        if endpoint.is_default_judge:
            ModelEndpoint.objects.exclude(pk=endpoint.pk).update(is_default_judge=False)
        endpoint.save()
    return endpoint


def do_register_local_model(name: str, path: "str | PathLike[str]", default: bool = False,
                            **fields: Any) -> ModelEndpoint:
    """Create or update a transformers endpoint for a local model folder."""
    endpoint = ModelEndpoint.objects.filter(name=name).first() or ModelEndpoint(name=name)
    endpoint.backend = Backend.TRANSFORMERS
    endpoint.model = str(path)
    endpoint.is_default_generator = endpoint.is_default_judge = default
    for key, value in fields.items():
        setattr(endpoint, key, value)
    return do_save_endpoint(endpoint, actor=None)


def default_endpoint(role: str = "generator") -> ModelEndpoint | None:
    field = "is_default_judge" if role == "judge" else "is_default_generator"
    return ModelEndpoint.objects.filter(is_active=True, **{field: True}).first()


def parse_config(cls: type[C], data: dict[str, Any]) -> C:
    """Return a config dataclass from a plain dict, turning a bad value into SynthesisError."""
    try:
        return cls.from_dict(data)
    except (ConfigError, TypeError) as exc:
        raise SynthesisError(str(exc)) from exc
