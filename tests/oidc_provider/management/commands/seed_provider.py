"""Set up the test provider: a signing key, a client and users with groups (idempotent: a second run updates)."""

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey


class Command(BaseCommand):
    help = "Create or update the provider's RSA key, one client and users; print the key as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument("--post-logout-redirect-uri", action="append", default=[])
        parser.add_argument("--user", action="append", default=[], help="name:password:group1+group2")

    def handle(self, *args, client_id, client_secret, redirect_uri, post_logout_redirect_uri, user, **options):
        key = RSAKey.objects.first() or RSAKey.objects.create(key=new_private_key())
        client, _ = Client.objects.get_or_create(client_id=client_id, defaults={"name": client_id})
        client.client_secret = client_secret
        client.client_type = "confidential"
        client.jwt_alg = "RS256"
        client.require_consent = False
        client.redirect_uris = sorted(set(client.redirect_uris) | set(redirect_uri))
        client.post_logout_redirect_uris = sorted(set(client.post_logout_redirect_uris) | set(post_logout_redirect_uri))
        client.scope = ["openid", "profile", "email", "groups"]
        client.save()
        client.response_types.set([ResponseType.objects.get(value="code")])
        for spec in user:
            self.seed_user(*spec.split(":", 2))
        self.stdout.write(json.dumps({"kid": key.kid, "private_key": key.key}))

    def seed_user(self, username, password, groups):
        account, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@hospital.test"})
        account.set_password(password)
        account.save()
        account.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups.split("+") if name])


def new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()
