"""Create a platform user in a role, optionally printing an API token for scripts and CLI clients."""

import getpass
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from alfa_platform.roles import Role
from alfa_platform.tokens import issue_token
from alfa_platform.users import create_user_with_role


class Command(BaseCommand):
    help = "Create (or add a role to) a user; --token prints the user's API token."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument("--no-password", action="store_true", help="API-only user: no interactive login")
        parser.add_argument("--token", action="store_true", help="print an API token (Authorization: Token …)")

    def handle(
        self, *args: Any, username: str, role: str, email: str, no_password: bool, token: bool, **options: Any
    ) -> None:
        password = None
        if not no_password:
            password = getpass.getpass(f"Password for {username}: ")
            try:
                validate_password(password)  # AUTH_PASSWORD_VALIDATORS: 12 characters at least, not a common one
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        user = create_user_with_role(username, role, password=password, email=email)
        self.stdout.write(self.style.SUCCESS(f"{username}: role {role}"))
        if token:
            self.stdout.write(issue_token(user).key)  # a fresh key when the old one expired
