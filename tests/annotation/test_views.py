"""The annotation pages: campaign set-up, import errors, adjudication, gold labelling, balance, releases, escaping."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.actions import do_create_campaign, do_import_items, do_set_campaign_status
from annotation.assignment import do_assign_next_item, do_submit_assignment
from annotation.models import Adjudication, BenchmarkRelease, Campaign, GoldStatus
from tests.annotation.conftest import comparison_row, jsonl

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script><b>bold</b>'


def test_allows_lead_to_set_up_a_campaign_in_the_browser(lead, annotator, client_for):
    client = client_for(lead)
    response = client.post(reverse("annotation:campaign-create"), {
        "name": "Expert study", "description": "", "guidelines": "## Rules\n\n* be **fair**\n\n<script>x()</script>",
        "judgment_mode": "per_attribute", "attribute_keys": ["clarity"], "overlap": 2, "gold_rate": 0.1,
        "items_per_annotator": "", "annotators": [annotator.pk],
    })
    campaign = Campaign.objects.get(name="Expert study")
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    upload = SimpleUploadedFile("pairs.jsonl", jsonl([comparison_row(i) for i in range(3)]))
    client.post(reverse("annotation:campaign-import", args=[campaign.pk]), {"file": upload})
    client.post(reverse("annotation:campaign-status", args=[campaign.pk]), {"status": "active"})
    campaign.refresh_from_db()
    assert (campaign.item_count, campaign.status) == (3, "active")
    html = campaign.guidelines_html()
    assert "<strong>fair</strong>" in html and "<script" not in html


def test_it_shows_import_errors_with_line_numbers(make_campaign, lead, client_for):
    campaign = make_campaign(n=1)
    bad = SimpleUploadedFile("bad.jsonl", jsonl([comparison_row(5)]) + b'{"context": "x", "attribute": "focus"}\n')
    response = client_for(lead).post(reverse("annotation:campaign-import", args=[campaign.pk]), {"file": bad})
    assert response.status_code == 400
    text = response.content.decode()
    assert "nothing was written" in text and "<td>2</td><td>question_a</td>" in text
    assert campaign.items.count() == 1


def test_it_escapes_user_text_on_server_rendered_pages(annotator, reviewer, lead, client_for):
    campaign = do_create_campaign(name=f"Evil {SCRIPT}", created_by=lead, annotators=[annotator])
    do_import_items(campaign, jsonl([comparison_row(0, context={"title": SCRIPT, "post": SCRIPT},
                                                    question_a=SCRIPT)]))
    do_set_campaign_status(campaign, "active")
    campaign.refresh_from_db()
    assignment = do_assign_next_item(campaign, annotator)
    do_submit_assignment(assignment, [{"attribute": "clarity", "pick": "tie", "rationale": SCRIPT}])
    pages = [
        (annotator, reverse("annotation:my-judgments")),
        (annotator, reverse("annotation:annotate", args=[campaign.pk])),
        (annotator, reverse("annotation:index")),
        (reviewer, reverse("annotation:adjudicate", args=[assignment.item_id])),
        (lead, reverse("annotation:dashboard", args=[campaign.pk])),
    ]
    for user, url in pages:
        html = client_for(user).get(url).content.decode()
        assert '<script>alert("x")' not in html and "<b>bold</b>" not in html, url
        assert "&lt;script&gt;" in html or "\\u003Cscript\\u003E" in html, url


def test_allows_reviewer_to_resolve_a_disagreement_on_the_page(make_campaign, annotator, second_annotator, reviewer,
                                                                client_for):
    campaign = make_campaign(n=1, annotators=[annotator, second_annotator])
    for user, pick in ((annotator, "tie"), (second_annotator, "both_bad")):
        assignment = do_assign_next_item(campaign, user)
        extra = {"reasons": ["leading"]} if pick == "both_bad" else {}
        do_submit_assignment(assignment, [{"attribute": "clarity", "pick": pick, **extra}])
    client = client_for(reviewer)
    queue = client.get(reverse("annotation:adjudication") + f"?campaign={campaign.pk}").content.decode()
    item = campaign.items.get()
    assert reverse("annotation:adjudicate", args=[item.pk]) in queue
    response = client.post(reverse("annotation:adjudicate", args=[item.pk]),
                           {"attribute": "clarity", "choice": "tie", "note": "Both fine; equally clear."})
    assert response.status_code == 302
    assert Adjudication.objects.get().author == reviewer
    queue = client.get(reverse("annotation:adjudication") + f"?campaign={campaign.pk}").content.decode()
    assert "No open disagreements" in queue


def test_allows_physician_to_gold_label_a_case_on_the_page(make_case, reviewer, client_for):
    case = make_case()
    client = client_for(reviewer)
    url = reverse("annotation:gold-label", args=[case.pk])
    blind = client.get(url).content.decode()
    assert "Step 1: answer blind" in blind and "key</span>" not in blind
    client.post(url, {"step": "blind", "letter": "B", "time_ms": "5000"})
    page = client.get(url).content.decode()
    assert "matches the key" in page and "Step 2" in page
    client.post(url, {"step": "implied", "implied_A": "no", "implied_B": "yes", "implied_C": "no", "implied_D": "no"})
    client.post(url, {"step": "facts", "atomic_facts": "- The calf is red.\n- The doctor asked about fever.\n"})
    client.post(url, {"step": "initial_info", "initial_info": "My calf is red and warm."})
    client.post(url, {"step": "sign_off"})
    case.gold.refresh_from_db()
    assert case.gold.status == GoldStatus.SIGNED_OFF
    assert case.gold.atomic_facts == ["The calf is red.", "The doctor asked about fever."]
    assert case.gold.revisions.count() == 5  # created, implied, facts, chief complaint, sign-off
    edit = {"step": "edit", "stem": "What is the safest next step?", "answer_idx": "B", "note": "clearer stem",
            **{f"option_{letter}": text for letter, text in case.options.items()}}
    client.post(url, edit)
    case.gold.refresh_from_db()
    assert case.gold.stem == "What is the safest next step?" and case.gold.status == GoldStatus.DRAFT
    assert case.gold.option_implied == {"A": False, "B": True, "C": False, "D": False}  # same key and options
    history = client.get(url).content.decode()
    assert "clearer stem" in history and "Signed off" in history


def test_allows_lead_to_rebalance_and_release(make_case, lead, reviewer, client_for):
    for index, key in enumerate("CCCB"):
        make_case(case_id=f"t_{index}-0", answer_idx=key)
    client = client_for(lead)
    before = client.get(reverse("annotation:balance")).content.decode()
    assert "Key C" in before
    client.post(reverse("annotation:balance"), {"seed": "3"})
    from annotation.gold import balance_report

    assert sorted(balance_report()["gold"]["positions"].values()) == [1, 1, 1, 1]
    response = client.post(reverse("annotation:releases"), {"name": "empty", "description": ""})
    assert "No signed-off items" in response.content.decode()
    assert not BenchmarkRelease.objects.exists()
