"""What the test provider says about a user: the standard profile claims, and a `groups` claim from its groups."""

from django.utils.translation import gettext_lazy as _
from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims: dict, user) -> dict:
    """OIDC_USERINFO: fill the standard claims from the provider's user."""
    claims.update(preferred_username=user.username, given_name=user.first_name, family_name=user.last_name,
                  email=user.email, email_verified=True)
    return claims


class GroupsScopeClaims(ScopeClaims):
    """The `groups` scope: the names of the user's groups at the provider (what a hospital directory sends)."""

    info_groups = (_("Groups"), _("The groups you belong to."))

    def scope_groups(self) -> dict:
        return {"groups": sorted(self.user.groups.values_list("name", flat=True))}
