"""Platform-level rows: the single sign-on identities users log in with."""

from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """An OpenID Connect identity (issuer, subject) and the user it signs in; SSO finds users by it, never by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, help_text="The provider's `sub` claim: stable, never reassigned.")
    # The roles the last login's claim granted: only these are the claim's to take back at the next login, so a
    # role a lead granted by hand stays.
    claim_roles = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Also the index the login's lookup by (issuer, subject) uses.
            models.UniqueConstraint(fields=["issuer", "subject"], name="unique_external_identity"),
        ]
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
