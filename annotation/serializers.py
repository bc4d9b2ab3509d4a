"""API shapes: campaigns, the item an annotator sees (never its sources), judgments, adjudications, gold labels."""

from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404
from rest_framework import serializers

from corpus.rendering import conversation_messages

from .assignment import previous_picks
from .attributes import attribute_names, list_attributes
from .models import (
    LETTERS,
    Adjudication,
    Assignment,
    BenchmarkRelease,
    Campaign,
    CampaignMember,
    Choice,
    ComparisonItem,
    GoldLabel,
    GoldRevision,
    Judgment,
    JudgmentMode,
    SkipReason,
    Strength,
    UnacceptableReason,
)
from .permissions import get_item_for_reviewer

PICKS = ["left", "right", Choice.TIE, Choice.BOTH_BAD]


class CampaignSerializer(serializers.ModelSerializer):
    """What every member sees about a campaign."""

    class Meta:
        model = Campaign
        fields = ["id", "name", "description", "status", "judgment_mode", "attribute_keys", "item_count",
                  "items_per_annotator", "qualification_required"]
        read_only_fields = fields


class CampaignLeadSerializer(serializers.ModelSerializer):
    """The full campaign settings, for leads."""

    annotators = serializers.SlugRelatedField(
        many=True, slug_field="username", required=False, write_only=True,
        queryset=get_user_model().objects.all(),
    )
    attribute_keys = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
    judgment_mode = serializers.ChoiceField(choices=JudgmentMode.choices, required=False)

    class Meta:
        model = Campaign
        fields = ["id", "name", "description", "guidelines", "status", "judgment_mode", "attribute_keys", "overlap",
                  "gold_rate", "items_per_annotator", "open_to_all", "qualification_required", "qualification_items",
                  "qualification_pass_mark", "gold_alert_accuracy", "gold_alert_min_judged", "item_count",
                  "selection", "created_at", "annotators"]
        read_only_fields = ["id", "status", "item_count", "selection", "created_at"]


class ItemSerializer(serializers.ModelSerializer):
    """A campaign's comparison item as its leads list it: the two questions, sources, gold answer and counters."""

    gold_choice = serializers.ChoiceField(choices=Choice.choices, allow_blank=True, read_only=True,
                                          help_text="The known answer of a gold item; empty on the others.")

    class Meta:
        model = ComparisonItem
        fields = ["id", "external_id", "position", "attribute", "question_a", "question_b", "source_a", "source_b",
                  "split", "is_gold", "is_qualification", "gold_choice", "active_count", "submitted_count",
                  "created_at"]
        read_only_fields = fields


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    gold = serializers.IntegerField()
    qualification = serializers.IntegerField()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class JudgmentInputSerializer(serializers.Serializer):
    attribute = serializers.CharField(max_length=32)
    pick = serializers.ChoiceField(choices=PICKS)
    strength = serializers.ChoiceField(choices=Strength.choices, required=False, allow_blank=True)
    reasons = serializers.ListField(child=serializers.ChoiceField(choices=UnacceptableReason.choices), required=False)
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    time_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=86_400_000)


class SubmitSerializer(serializers.Serializer):
    judgments = JudgmentInputSerializer(many=True)
    duration_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=86_400_000)
    next = serializers.BooleanField(default=False, help_text="Return the next item in the same response.")


class SkipSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=SkipReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    next = serializers.BooleanField(default=False)


class AssignmentItemSerializer(serializers.Serializer):
    """Documentation-only shape of the annotation payload (built by `assignment_payload` for speed)."""

    assignment = serializers.IntegerField()
    campaign = serializers.IntegerField()
    # a declared field, kept apart from Serializer.context by DRF's metaclass (the stub sees an attribute clash)
    context = serializers.DictField()  # type: ignore[assignment]
    left = serializers.CharField()
    right = serializers.CharField()
    judgments = serializers.ListField(child=serializers.DictField())
    previous = serializers.DictField()
    progress = serializers.DictField()
    qualification = serializers.DictField(required=False, help_text="On qualification items: {round, position, of}.")


class NextResponseSerializer(serializers.Serializer):
    item = AssignmentItemSerializer(allow_null=True)
    progress = serializers.DictField()
    feedback = serializers.DictField(
        required=False, help_text="After a qualification item: correct, expected, expected_text, explanation_html, "
                                  "qualification {status, round, seen, correct, items, pass_mark, needed}, message.",
    )


class MemberSerializer(serializers.ModelSerializer):
    """An annotator's standing in a campaign, for leads."""

    annotator = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = CampaignMember
        fields = ["annotator", "invited", "done_count", "skipped_count", "qualification_status",
                  "qualification_round", "qualification_seen", "qualification_correct", "paused", "excluded"]
        read_only_fields = fields


class MemberChangeSerializer(serializers.Serializer):
    paused = serializers.BooleanField(required=False, help_text="No items, submits, skips or undos until resumed.")
    excluded = serializers.BooleanField(required=False,
                                        help_text="Leave their judgments out of agreement and datasets (kept).")
    retry_qualification = serializers.BooleanField(required=False, help_text="Allow a new round after a failed one.")


def progress_payload(campaign: Campaign, member: CampaignMember | SimpleNamespace | None) -> dict[str, int]:
    """Return done / assigned for an annotator: the quota, or every item the campaign holds."""
    assigned = campaign.items_per_annotator or campaign.item_count
    done = member.done_count if member else 0
    return {"done": done, "assigned": max(assigned, done), "skipped": member.skipped_count if member else 0}


def judgment_keys_payload(campaign: Campaign, item_attribute: str) -> list[dict[str, str]]:
    attributes = {attribute.key: attribute for attribute in list_attributes()}
    keys = campaign.judgment_keys_for(item_attribute)
    return [
        {"attribute": key, "name": attributes[key].name if key in attributes else key,
         "definition": attributes[key].definition if key in attributes else ""}
        for key in keys
    ]


def assignment_payload(assignment: Assignment, member: CampaignMember | SimpleNamespace | None = None
                       ) -> dict[str, Any]:
    """Return what the annotation page needs for one assignment; sources, gold answers and judges stay hidden."""
    item, campaign = assignment.item, assignment.campaign
    left, right = (item.question_a, item.question_b) if assignment.left_is_a else (item.question_b, item.question_a)
    payload = {
        "assignment": assignment.pk,
        "campaign": campaign.pk,
        "context": {"messages": conversation_messages(item.post_title, item.post_body, item.turns)},
        "left": left,
        "right": right,
        "judgments": judgment_keys_payload(campaign, item.attribute),
        "previous": previous_picks(assignment),
        "progress": progress_payload(campaign, member),
    }
    if item.is_qualification:  # shown first and with feedback: the annotator knows these are a test
        payload["qualification"] = {"round": member.qualification_round if member else 1,
                                    "position": (member.qualification_seen if member else 0) + 1,
                                    "of": campaign.qualification_items}
    return payload


class OwnJudgmentSerializer(serializers.ModelSerializer):
    """A judgment, as its author reviews it: shown in screen terms (left/right) with the two question texts."""

    pick = serializers.SerializerMethodField()
    left = serializers.SerializerMethodField()
    right = serializers.SerializerMethodField()
    attribute_name = serializers.SerializerMethodField()
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    submitted_at = serializers.DateTimeField(source="assignment.submitted_at", read_only=True)

    class Meta:
        model = Judgment
        fields = ["id", "campaign", "campaign_name", "assignment", "attribute", "attribute_name", "pick", "strength",
                  "reasons", "rationale", "time_ms", "created_at", "submitted_at", "left", "right"]

    def get_pick(self, judgment: Judgment) -> str:
        from .assignment import screen_pick

        return screen_pick(judgment.choice, judgment.assignment.left_is_a)

    def get_left(self, judgment: Judgment) -> str:
        item = judgment.item
        return item.question_a if judgment.assignment.left_is_a else item.question_b

    def get_right(self, judgment: Judgment) -> str:
        item = judgment.item
        return item.question_b if judgment.assignment.left_is_a else item.question_a

    def get_attribute_name(self, judgment: Judgment) -> str:
        return attribute_names().get(judgment.attribute, judgment.attribute)


class JudgmentSerializer(serializers.ModelSerializer):
    """A judgment in canonical terms, for reviewers and leads."""

    annotator = serializers.CharField(source="annotator.username", read_only=True)

    class Meta:
        model = Judgment
        fields = ["id", "campaign", "item", "assignment", "annotator", "attribute", "choice", "side", "strength",
                  "reasons", "rationale", "time_ms", "created_at", "retracted_at"]


class AdjudicationSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)
    choice = serializers.ChoiceField(choices=Choice.choices)

    class Meta:
        model = Adjudication
        fields = ["id", "campaign", "item", "attribute", "choice", "note", "author", "created_at"]
        read_only_fields = ["id", "campaign", "author", "created_at"]

    def validate_item(self, item: ComparisonItem) -> ComparisonItem:
        """Refuse items the reviewer may not see yet (permissions.get_item_for_reviewer) as if they did not exist."""
        try:
            get_item_for_reviewer(self.context["request"].user, item.pk)
        except Http404 as exc:
            message = self.fields["item"].error_messages["does_not_exist"].format(pk_value=item.pk)
            raise serializers.ValidationError(message) from exc
        return item


class DisagreementSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    attribute = serializers.CharField()
    n = serializers.IntegerField()
    kinds = serializers.IntegerField()


# --- Gold labels ----------------------------------------------------------------------------------------------------


class GoldListSerializer(serializers.ModelSerializer):
    case_id = serializers.CharField(source="case.case_id", read_only=True)
    signed_off_by = serializers.CharField(source="signed_off_by.username", read_only=True, default=None,
                                          allow_null=True)  # null until signed off, as the schema now says

    class Meta:
        model = GoldLabel
        fields = ["id", "case", "case_id", "status", "version", "updated_at", "signed_off_by", "signed_off_at"]


class GoldBlindSerializer(serializers.ModelSerializer):
    """What a physician sees before answering blind: the case, stem and options, no key."""

    case_id = serializers.CharField(source="case.case_id", read_only=True)

    class Meta:
        model = GoldLabel
        fields = ["id", "case", "case_id", "status", "version", "stem", "options"]


class GoldDetailSerializer(serializers.ModelSerializer):
    """The whole gold label, after the physician has answered blind."""

    case_id = serializers.CharField(source="case.case_id", read_only=True)
    signed_off_by = serializers.CharField(source="signed_off_by.username", read_only=True, default=None,
                                          allow_null=True)  # null until signed off, as the schema now says

    class Meta:
        model = GoldLabel
        fields = ["id", "case", "case_id", "status", "version", "stem", "options", "answer_idx", "option_implied",
                  "atomic_facts", "initial_info", "initial_info_reviewed", "signed_off_by", "signed_off_at",
                  "updated_at"]


class GoldLabelViewSerializer(GoldDetailSerializer):
    """Documentation only: a gold endpoint's answer, GoldBlindSerializer's fields before the blind answer and all of
    GoldDetailSerializer's after it (so the fields only the latter has are not required)."""

    signed_off_by = serializers.CharField(required=False, allow_null=True)
    updated_at = serializers.DateTimeField(required=False)

    class Meta(GoldDetailSerializer.Meta):
        extra_kwargs = {name: {"required": False} for name in GoldDetailSerializer.Meta.fields
                        if name not in GoldBlindSerializer.Meta.fields}


class BlindAnswerInputSerializer(serializers.Serializer):
    letter = serializers.ChoiceField(choices=LETTERS)
    # Bounded like a judgment's time_ms: the column is a 32-bit integer on PostgreSQL.
    time_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=86_400_000)


class GoldEditSerializer(serializers.Serializer):
    stem = serializers.CharField(required=False, max_length=5000)
    options = serializers.DictField(child=serializers.CharField(max_length=2000), required=False)
    answer_idx = serializers.ChoiceField(choices=LETTERS, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ImpliedSerializer(serializers.Serializer):
    marks = serializers.DictField(child=serializers.BooleanField())


class FactsSerializer(serializers.Serializer):
    atomic_facts = serializers.ListField(child=serializers.CharField(max_length=2000, allow_blank=True))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class InitialInfoSerializer(serializers.Serializer):
    initial_info = serializers.CharField(max_length=2000)


class GoldRevisionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, default=None)

    class Meta:
        model = GoldRevision
        fields = ["version", "kind", "author", "created_at", "changes", "note"]


class ReleaseSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = BenchmarkRelease
        fields = ["id", "name", "description", "created_by", "created_at", "item_count", "sha256"]
        read_only_fields = ["id", "created_by", "created_at", "item_count", "sha256"]


class ReopenSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RebalanceSerializer(serializers.Serializer):
    seed = serializers.IntegerField(default=0, min_value=0, max_value=2**32 - 1)


class PairSelectionSerializer(serializers.Serializer):
    """Which synthesis pairs to add to a campaign; empty lists mean "any"."""

    attributes = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    pair_types = serializers.ListField(child=serializers.CharField(max_length=24), required=False, default=list)
    verdicts = serializers.ListField(child=serializers.CharField(max_length=16), required=False, default=list)
    splits = serializers.ListField(child=serializers.CharField(max_length=16), required=False, default=list)
    ids = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    limit = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class JobQueuedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    url = serializers.CharField()
