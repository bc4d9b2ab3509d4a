"""A real OpenID Connect provider (django-oidc-provider) that the single sign-on tests start in its own process."""
