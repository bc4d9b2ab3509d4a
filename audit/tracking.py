"""Which models django-auditlog records through their save and delete signals, and which of their fields.

Changes made with bulk statements or raw SQL (judgments, imports, job cancel and retry, removed members) send no
signals: the action making them writes its record explicitly (audit.recording), one per operation.
"""

from typing import Any

from auditlog.registry import auditlog
from django.apps import apps

TRACKED_MODELS: dict[str, dict[str, Any]] = {
    # Imports and item counts are recorded as one campaign.import event each, not as field changes.
    "annotation.Campaign": {"exclude_fields": ["selection", "item_count"]},
    # A lead pausing or excluding an annotator, and qualification outcomes; invitations are campaign.members events.
    "annotation.CampaignMember": {"include_fields": ["paused", "excluded", "qualification_status",
                                                     "qualification_round"]},
    "annotation.Adjudication": {},
    "annotation.GoldLabel": {},
    "corpus.ImportRun": {"include_fields": ["file_name", "file_sha256", "format", "split", "status", "job", "user",
                                            "records_read", "created", "updated", "unchanged", "rejected",
                                            "skipped", "error_count", "error"]},
    "synthesis.PromptTemplate": {},
    "synthesis.ModelEndpoint": {},
    "dataversions.Dataset": {},
    "dataversions.DatasetVersion": {"m2m_fields": {"source_jobs", "templates", "campaigns"}},
    # Progress, heartbeats and logs change every few seconds and are not decisions: only these fields.
    "jobs.Job": {"include_fields": ["kind", "status", "queue", "owner", "params", "cancel_requested", "version"]},
    # Role grants are group memberships. Never the password (not even its hash), nor every login's timestamp.
    "auth.User": {"include_fields": ["username", "email", "is_active", "is_staff", "is_superuser"],
                  "m2m_fields": {"groups"}},
    "auth.Group": {},
}


def register_tracked_models() -> None:
    """Connect auditlog's signals for every tracked model (AuditConfig.ready, unless ALFA_AUDIT=0)."""
    for label, options in TRACKED_MODELS.items():
        auditlog.register(apps.get_model(label), **options)
