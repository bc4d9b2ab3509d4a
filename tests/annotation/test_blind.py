"""Blind work stays blind: no page or endpoint shows an MCQ key before the user's blind answer, or an item's sources.

Two kinds of check, over every role and every page and endpoint that shows a case or an item. A search of each
response for what must stay hidden (the key's fields, the sources, ids and pipeline metadata). And a differential
check that catches what a search cannot name (a CSS class, a tick, an error message that depends on the key): change
only the hidden value in the database, ask again, and the response must be byte for byte the same.
"""

import json
import re

import pytest
from django.urls import reverse

from annotation import gold
from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.models import Assignment, ComparisonItem, GoldLabel
from corpus.models import MultipleChoiceCase
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db
API = "/api/annotation"
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')


def normalised(response):
    """(status, body) with the per-render CSRF token masked out (it differs on every render, by design)."""
    return response.status_code, CSRF.sub(b"", response.content)


def json_keys(value):
    """Every key of a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {key for child in value.values() for key in json_keys(child)}
    if isinstance(value, list):
        return {key for child in value for key in json_keys(child)}
    return set()


def ask(client, request):
    method, url, body = request
    if method == "get":
        return client.get(url)
    return client.post(url, json.dumps(body or {}), content_type="application/json")


# --- MCQ gold labels ------------------------------------------------------------------------------------------------


@pytest.fixture
def second_reviewer(make_user):
    from alfa_platform.roles import Role

    return make_user("rosa_reviewer", Role.REVIEWER)


@pytest.fixture
def worked_case(make_case, reviewer):
    """A case whose label another reviewer has worked on (answered blind, marked only B implied): key B."""
    case = make_case()
    label = gold.get_or_create_gold(case, reviewer)
    gold.do_record_blind_answer(label, reviewer, "B")
    label, _ = gold.do_mark_implied(label, reviewer, {"A": False, "B": True, "C": False, "D": False})
    label, _ = gold.do_curate_facts(label, reviewer, ["The calf is red.", "The patient has a fever."])
    gold.do_set_initial_info(label, reviewer, "My calf is red and warm.")
    return case


def gold_requests(case):
    """What a reviewer may ask about one case; the POSTs are refused before a blind answer and change nothing."""
    return [
        ("get", reverse("annotation:gold-list"), None),
        ("get", reverse("annotation:gold-label", args=[case.pk]), None),
        ("get", f"{API}/gold/", None),
        ("get", f"{API}/gold/{case.pk}/", None),
        ("get", f"{API}/gold/{case.pk}/revisions/", None),
        ("post", f"{API}/gold/{case.pk}/sign-off/", None),
        ("post", f"{API}/gold/{case.pk}/edit/", {"answer_idx": "A"}),
        ("post", f"{API}/gold/{case.pk}/implied/", {"marks": {"A": True, "B": False, "C": False, "D": False}}),
        ("post", f"{API}/gold/{case.pk}/facts/", {"atomic_facts": ["x"]}),
        ("post", f"{API}/gold/{case.pk}/initial-info/", {"initial_info": "x"}),
    ]


def corpus_requests(case):
    """Every corpus page and endpoint that shows the case."""
    thread = case.thread.thread_id
    return [
        ("get", reverse("corpus:thread", args=[thread]), None),
        ("get", reverse("corpus:thread-list"), None),
        ("get", f"/api/corpus/threads/{thread}/", None),
        ("get", f"/api/corpus/mcqs/{case.pk}/", None),
        ("get", "/api/corpus/mcqs/", None),
        ("get", "/api/corpus/mcqs/?source=askdocs", None),
    ]


def move_key(case, letter):
    """Change the key and nothing else, in the corpus and in the gold label."""
    MultipleChoiceCase.objects.filter(pk=case.pk).update(answer_idx=letter)
    GoldLabel.objects.filter(case=case).update(answer_idx=letter)


def responses(client, requests):
    return [normalised(ask(client, request)) for request in requests]


def test_no_page_or_endpoint_depends_on_the_key_before_the_blind_answer(
        worked_case, annotator, second_reviewer, lead, admin_user, client_for):
    """For users who have not answered blind, moving the key from B to C changes no response at all."""
    plans = [
        (annotator, gold_requests(worked_case) + corpus_requests(worked_case)),
        (second_reviewer, gold_requests(worked_case) + corpus_requests(worked_case)),
        # leads and admins may read the published key in the corpus and releases; their gold pages stay blind
        (lead, gold_requests(worked_case)),
        (admin_user, gold_requests(worked_case)),
    ]
    for user, requests in plans:
        client = client_for(user)
        before = responses(client, requests)
        move_key(worked_case, "C")
        after = responses(client, requests)
        move_key(worked_case, "B")
        for request, old, new in zip(requests, before, after, strict=True):
            assert old == new, (user.username, request[:2], old[0])


def test_no_response_names_the_key_before_the_blind_answer(worked_case, annotator, second_reviewer, client_for):
    for user in (annotator, second_reviewer):
        client = client_for(user)
        for request in gold_requests(worked_case) + corpus_requests(worked_case):
            response = ask(client, request)
            if response.get("Content-Type", "").startswith("application/json"):
                keys = json_keys(response.json())
                assert not keys & {"answer_idx", "answer", "option_implied"}, (user.username, request[:2])
            text = response.content.decode()
            assert "✓" not in text and 'class="key"' not in text and 'class="answer"' not in text, request[:2]


def test_the_key_appears_once_the_user_has_answered_blind(worked_case, reviewer, second_reviewer, client_for):
    """The check above can fail: it sees the key as soon as the user has answered (the adjudicating step)."""
    client = client_for(reviewer)
    page = [("get", reverse("annotation:gold-label", args=[worked_case.pk]), None)]
    before = responses(client, page)
    move_key(worked_case, "C")
    assert responses(client, page) != before
    move_key(worked_case, "B")
    other = client_for(second_reviewer)
    detail = other.post(f"{API}/gold/{worked_case.pk}/blind-answer/", {"letter": "A"}, content_type="application/json")
    assert detail.json()["answer_idx"] == "B" and detail.json()["option_implied"]["B"] is True
    assert "✓" not in other.get(reverse("corpus:thread", args=[worked_case.thread.thread_id])).content.decode()


def test_allows_lead_to_read_the_published_key_in_the_corpus(worked_case, lead, api_client_for):
    mcq = api_client_for(lead).get(f"/api/corpus/mcqs/{worked_case.pk}/").json()
    assert (mcq["answer_idx"], mcq["answer"]) == ("B", worked_case.options["B"])


# --- Pairwise judging -----------------------------------------------------------------------------------------------

HIDDEN_TEXT = ("SRC-ALPHA", "SRC-BETA", "EXT-ID", "PTYPE", "VERDICT", "JUDGE-MODEL")
HIDDEN_KEYS = {"source_a", "source_b", "external_id", "meta", "expected_choice", "judge_choice", "gold_choice",
               "is_gold", "pair", "pair_type", "verdict", "left_is_a", "question_a", "question_b"}


def hidden_row(index, **extra):
    return comparison_row(index, id=f"EXT-ID-{index}", source_a="SRC-ALPHA-doctor", source_b="SRC-BETA-enhanced",
                          expected="a", judge="a",
                          meta={"pair_type": "PTYPE-doctor_enhanced", "verdict": "VERDICT-accepted",
                                "judge_model": "JUDGE-MODEL-x"}, **extra)


@pytest.fixture
def members(annotator, reviewer, lead, admin_user):
    return [annotator, reviewer, lead, admin_user]


@pytest.fixture
def blind_campaign(lead, members):
    """Every role annotates: four regular items and two gold items, all with telltale sources and metadata."""
    campaign = do_create_campaign(name="Blind study", created_by=lead, annotators=members, overlap=4, gold_rate=0.3,
                                  guidelines="Judge the questions.")
    do_import_items(campaign, jsonl([hidden_row(i) for i in range(4)] + [hidden_row(100 + i, gold="a")
                                                                       for i in range(2)]))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    return campaign


def loop_requests(campaign):
    """The annotation loop as the page drives it: (method, url or callable on the last item, body)."""
    return [
        ("get", reverse("annotation:annotate", args=[campaign.pk]), None),
        ("get", reverse("annotation:guidelines", args=[campaign.pk]), None),
        ("get", reverse("annotation:index"), None),
        ("get", f"{API}/campaigns/", None),
        ("get", f"{API}/campaigns/{campaign.pk}/", None),
        ("get", f"{API}/campaigns/{campaign.pk}/progress/", None),
        ("post", f"{API}/campaigns/{campaign.pk}/next/", None),
    ]


def walk(client, campaign):
    """Drive the loop: next, submit with next, skip with next, undo; yield every response."""
    for request in loop_requests(campaign):
        yield request, ask(client, request)
    item = client.post(f"{API}/campaigns/{campaign.pk}/next/").json()["item"]
    body = {"judgments": [{"attribute": j["attribute"], "pick": "left"} for j in item["judgments"]], "next": True}
    submitted = client.post(f"{API}/assignments/{item['assignment']}/submit/", json.dumps(body),
                            content_type="application/json")
    yield ("post", "submit", body), submitted
    following = submitted.json()["item"]
    skip = {"reason": "other", "next": True}
    yield ("post", "skip", skip), client.post(f"{API}/assignments/{following['assignment']}/skip/",
                                              json.dumps(skip), content_type="application/json")
    yield ("post", "undo", None), client.post(f"{API}/campaigns/{campaign.pk}/undo/")
    for url in (reverse("annotation:my-judgments"), f"{reverse('annotation:my-judgments')}?campaign={campaign.pk}",
                f"{API}/judgments/?campaign={campaign.pk}"):
        yield ("get", url, None), client.get(url)


def test_no_response_of_the_annotation_loop_shows_sources_ids_or_metadata(blind_campaign, members, annotator,
                                                                         client_for):
    """Whatever the role, an annotator's pages and endpoints never carry the hidden fields of an item."""
    for user in members:
        client = client_for(user)
        for request, response in walk(client, blind_campaign):
            assert response.status_code == 200, (user.username, request[:2], response.status_code)
            text = response.content.decode()
            for hidden in HIDDEN_TEXT:
                assert hidden not in text, (user.username, request[:2], hidden)
            # reviewers and leads list everyone's judgments in canonical terms (item, choice): not the loop
            canonical = "/judgments/" in request[1] and user != annotator
            if response.get("Content-Type", "").startswith("application/json") and not canonical:
                leaked = json_keys(response.json()) & HIDDEN_KEYS
                assert not leaked, (user.username, request[:2], leaked)


def test_the_item_payload_does_not_depend_on_its_hidden_fields(blind_campaign, members, client_for):
    """Swapping the sources and changing the ids, metadata and expected answers changes nothing an annotator sees."""
    for user in members:
        client = client_for(user)
        requests = [*loop_requests(blind_campaign), ("post", f"{API}/campaigns/{blind_campaign.pk}/next/", None)]
        before = responses(client, requests)
        current = Assignment.objects.get(annotator=user, campaign=blind_campaign, status="assigned").item
        ComparisonItem.objects.filter(pk=current.pk).update(
            source_a="SRC-BETA-enhanced", source_b="SRC-ALPHA-doctor", external_id=f"EXT-ID-other-{user.pk}",
            expected_choice="b", judge_choice="b", meta={"pair_type": "PTYPE-enhanced_doctor"},
        )
        assert responses(client, requests) == before, user.username


def test_sides_are_randomised_per_annotator_and_item(lead, make_user):
    """Question A (a synthesis pair's chosen text) is on the left for about half of anyone's items, not in one order."""
    from alfa_platform.roles import Role

    users = [make_user(f"side_{index}", Role.ANNOTATOR) for index in range(3)]
    campaign = do_create_campaign(name="Sides", created_by=lead, annotators=users, overlap=3, gold_rate=0,
                                  seed=20240601)  # a fixed seed: the counts below are exact, not a gamble
    do_import_items(campaign, jsonl([hidden_row(i) for i in range(60)]))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    orders = {}
    for user in users:
        for _ in range(60):
            assignment = do_assign_next_item(campaign, user)
            do_submit_assignment(assignment, [{"attribute": "clarity", "pick": "tie"}])
        orders[user.pk] = dict(Assignment.objects.filter(annotator=user).values_list("item_id", "left_is_a"))
        assert 15 <= sum(orders[user.pk].values()) <= 45, "the chosen question is not on one side for this annotator"
    first, second, _third = orders.values()
    assert sum(first[item] != second[item] for item in first) >= 15, "two annotators see the same order"


def test_denies_reviewer_to_adjudicate_an_item_they_may_still_judge(
        make_campaign, annotator, second_annotator, reviewer, client_for):
    """The adjudication page shows question A (the pipeline's chosen text): a reviewer who annotates sees it later."""
    campaign = make_campaign(n=1, annotators=[annotator, second_annotator, reviewer], overlap=3)
    for user, pick in ((annotator, "left"), (second_annotator, "tie")):  # a disagreement, whatever the sides
        do_submit_assignment(do_assign_next_item(campaign, user), [{"attribute": "clarity", "pick": pick}])
    item = campaign.items.get()
    client = client_for(reviewer)
    hidden = client.get(reverse("annotation:adjudicate", args=[item.pk]))
    missing = client.get(reverse("annotation:adjudicate", args=[item.pk + 1000]))
    assert hidden.status_code == missing.status_code == 404
    queue = client.get(reverse("annotation:adjudication"), {"campaign": campaign.pk}).content.decode()
    assert reverse("annotation:adjudicate", args=[item.pk]) not in queue
    assert client.get(f"{API}/campaigns/{campaign.pk}/disagreements/").json()["results"] == []
    resolve = {"attribute": "clarity", "choice": "a", "note": "A is clearer."}
    refused = [client.post(f"{API}/adjudications/", {**resolve, "item": pk}, content_type="application/json")
               for pk in (item.pk, item.pk + 1000)]
    assert [r.status_code for r in refused] == [400, 400]
    assert refused[0].json()["item"] == [f'Invalid pk "{item.pk}" - object does not exist.']
    own = do_assign_next_item(campaign, reviewer)
    assert client.get(reverse("annotation:adjudicate", args=[item.pk])).status_code == 404  # open: still judging
    do_submit_assignment(own, [{"attribute": "clarity", "pick": "tie"}])
    assert client.get(reverse("annotation:adjudicate", args=[item.pk])).status_code == 200
    queue = client.get(reverse("annotation:adjudication"), {"campaign": campaign.pk}).content.decode()
    assert reverse("annotation:adjudicate", args=[item.pk]) in queue
