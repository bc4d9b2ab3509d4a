"""Create a platform user in a role, optionally printing an API token for scripts and CLI clients."""

import getpass

from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from alfa_platform.roles import Role
from alfa_platform.users import create_user_with_role


class Command(BaseCommand):
    help = "Create (or add a role to) a user; --token prints the user's API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument("--no-password", action="store_true", help="API-only user: no interactive login")
        parser.add_argument("--token", action="store_true", help="print an API token (Authorization: Token …)")

    def handle(self, *args, username, role, email, no_password, token, **options):
        password = None
        if not no_password:
            password = getpass.getpass(f"Password for {username}: ")
            if len(password) < 8:
                raise CommandError("Use a password of at least 8 characters.")
        user = create_user_with_role(username, role, password=password, email=email)
        self.stdout.write(self.style.SUCCESS(f"{username}: role {role}"))
        if token:
            self.stdout.write(Token.objects.get_or_create(user=user)[0].key)
