"""The attribute catalogue and its templates: data migration, placeholder validation, lint, versioning."""

import pytest
from django.core.exceptions import ValidationError

from synthesis.actions import do_save_template, do_supersede_template
from synthesis.models import Attribute, PromptTemplate, TemplateKind, TemplateStatus
from synthesis.prompts import lint_template, render_messages

pytestmark = pytest.mark.django_db

KEYS = ["clarity", "focus", "answerability", "accuracy", "relevance", "avoidbias", "overall"]


def template(kind="enhance", attribute="clarity"):
    return PromptTemplate.objects.get(kind=kind, attribute__key=attribute, status=TemplateStatus.ACTIVE)


def test_it_loads_seven_attributes_with_five_level_scales():
    attributes = list(Attribute.objects.all())
    assert [a.key for a in attributes] == KEYS
    assert {a.key: a.group for a in attributes}["avoidbias"] == "clinical"
    assert {a.key: a.group for a in attributes}["overall"] == "coarse"
    for attribute in attributes:
        attribute.full_clean()
        assert len(attribute.scale) == 5 and attribute.definition


def test_it_loads_three_directions_per_attribute_plus_normalize_and_judge():
    for key in KEYS:
        kinds = set(PromptTemplate.objects.filter(attribute__key=key).values_list("kind", flat=True))
        assert kinds == {"enhance", "enhance_hindsight", "corrupt"}
    assert PromptTemplate.objects.filter(attribute=None).count() == 2


def test_it_supersedes_the_v1_rewrite_prompts_with_v2_which_put_the_attribute_last():
    for seeded in PromptTemplate.objects.filter(attribute__isnull=False, status=TemplateStatus.ACTIVE):
        assert seeded.version == 2 and seeded.supersedes.version == 1
        assert seeded.supersedes.status == TemplateStatus.SUPERSEDED
        text = seeded.user_text
        assert text.index("{question}") < text.index("***RULES") < text.index("{attribute_name}")
        assert sorted(seeded.placeholders) == sorted(seeded.supersedes.placeholders)


def test_it_finds_every_seeded_template_valid_and_lint_clean():
    attributes = list(Attribute.objects.all())
    for seeded in PromptTemplate.objects.all():
        seeded.full_clean()
        assert lint_template(seeded, attributes) == [], str(seeded)


def test_it_gives_both_sides_of_a_pair_the_same_guidance():
    attribute = Attribute.objects.get(key="clarity")
    values = {"title": "t", "post": "p", "previous_turns": "(none)", "question": "q", "attribute_name": attribute.name,
              "definition": attribute.definition, "scale": attribute.scale_text(), "guidance": attribute.guidance,
              "final_diagnosis": "d", "conclusion": "c"}
    for kind in ("enhance", "enhance_hindsight", "corrupt"):
        user = render_messages(template(kind), values)[-1]["content"]
        assert attribute.guidance in user and attribute.definition in user


def test_it_rejects_an_unknown_placeholder():
    bad = template()
    bad.pk = None
    bad.version = 9
    bad.user_text += "\n{patient_name}"
    bad.placeholders = [*bad.placeholders, "patient_name"]
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        bad.full_clean()


def test_it_rejects_an_undeclared_placeholder():
    bad = template()
    bad.user_text += "\n{conclusion}"
    with pytest.raises(ValidationError, match="used but not declared"):
        bad.full_clean()


def test_it_rejects_a_declared_placeholder_missing_from_the_text():
    bad = template()
    bad.user_text = bad.user_text.replace("{guidance}", "")
    with pytest.raises(ValidationError, match="declared but missing"):
        bad.full_clean()


def test_it_rejects_a_hindsight_template_without_the_outcome():
    bad = template("enhance_hindsight")
    bad.user_text = bad.user_text.replace("{final_diagnosis}", "")
    bad.placeholders = [p for p in bad.placeholders if p != "final_diagnosis"]
    with pytest.raises(ValidationError, match="Missing required placeholder"):
        bad.full_clean()


def test_it_rejects_the_outcome_in_a_corrupt_template():
    bad = template("corrupt")
    bad.user_text += "\nDiagnosis: {final_diagnosis}"
    bad.placeholders = [*bad.placeholders, "final_diagnosis"]
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        bad.full_clean()


def test_it_rejects_malformed_braces_and_indexed_placeholders():
    bad = template()
    bad.user_text += "\n{question"
    with pytest.raises(ValidationError, match="Malformed braces"):
        bad.full_clean()
    bad = template()
    bad.user_text += "\n{question[0]}"
    with pytest.raises(ValidationError, match="plain"):
        bad.full_clean()


def test_it_flags_the_authors_contradictory_avoidbias_instruction():
    bad = template("enhance_hindsight", "avoidbias")
    bad.user_text += ("\nRewrite it to be more encouraging of exploring alternative diagnosis and contains more "
                      "confirmation biases.")
    issues = lint_template(bad, list(Attribute.objects.all()))
    assert [issue.code for issue in issues] == ["contradicts-direction"]
    assert "confirmation bias" in issues[0].message


def test_it_flags_a_focus_template_that_asks_for_answerability():
    bad = template("enhance_hindsight", "focus")
    bad.user_text += "\nUse the outcome to make the question more answerable."
    issues = lint_template(bad, list(Attribute.objects.all()))
    assert [issue.code for issue in issues] == ["other-attribute"]
    assert "Answerability" in issues[0].message


def test_it_flags_a_corrupt_template_that_asks_for_more_of_the_attribute():
    bad = template("corrupt", "clarity")
    bad.user_text = bad.user_text.replace("rates lower on", "becomes more clear and rates higher on")
    assert [issue.code for issue in lint_template(bad, list(Attribute.objects.all()))] == ["contradicts-direction"]


def test_it_edits_a_template_in_place_while_it_has_produced_nothing(lead):
    current = template()
    saved = do_save_template(current, lead, current.system_text, current.user_text + "\nBe brief.",
                             current.placeholders)
    assert saved.pk == current.pk and saved.version == current.version and saved.user_text.endswith("Be brief.")


def test_it_freezes_a_template_that_produced_data_and_supersedes_it(lead, tiny_endpoint, questions):
    from tests.synthesis.helpers import make_rewrite

    current = template()
    make_rewrite(questions[0], current)
    current.user_text += "\nChanged."
    with pytest.raises(ValidationError, match="cannot be edited"):
        current.save()
    current.refresh_from_db()
    new = do_save_template(current, lead, current.system_text, current.user_text + "\nChanged.",
                           current.placeholders, notes="shorter")
    current.refresh_from_db()
    assert (new.version, new.status, new.supersedes_id) == (current.version + 1, TemplateStatus.ACTIVE, current.pk)
    assert current.status == TemplateStatus.SUPERSEDED
    assert PromptTemplate.objects.filter(kind=TemplateKind.ENHANCE, attribute__key="clarity",
                                         status=TemplateStatus.ACTIVE).get() == new


def test_it_refuses_to_supersede_with_an_invalid_template(lead):
    current = template()
    with pytest.raises(ValidationError):
        do_supersede_template(current, lead, current.system_text, current.user_text + "{nope}", current.placeholders)
    assert template() == current


def test_it_requires_five_scale_levels():
    attribute = Attribute.objects.get(key="focus")
    attribute.scale = attribute.scale[:4]
    with pytest.raises(ValidationError, match="exactly 5"):
        attribute.full_clean()
