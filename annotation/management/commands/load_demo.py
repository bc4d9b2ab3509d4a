"""Load the demo project: the demo corpus (written by the project itself) and one user per role."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from annotation.demo import ensure_demo_campaign, ensure_demo_users, write_demo_files


class Command(BaseCommand):
    help = "Write and import the demo corpus (idempotent) and print the demo users' credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        from corpus.importers import import_path

        questions, mcqs = write_demo_files()
        for path, fmt in ((questions, "questions"), (mcqs, "askdocs_mcq")):
            run = import_path(path, format=fmt, split="test")
            self.stdout.write(f"{path.name}: {run.records_read} records, created {run.created}, "
                              f"updated {run.updated}, unchanged {run.unchanged}, rejected {run.rejected}")
            if run.rejected:
                raise SystemExit(f"demo import rejected records: {run.errors[:5]}")
        self.stdout.write(self.style.SUCCESS("Demo users (username / password / role):"))
        credentials = ensure_demo_users()
        for username, info in credentials.items():
            self.stdout.write(f"  {username:<12} {info['password']:<16} {info['role']}")
        users = get_user_model().objects.in_bulk(credentials, field_name="username")
        physicians = [users[name] for name, info in credentials.items() if info["role"] == "annotator"]
        campaign = ensure_demo_campaign(users["lead"], physicians)
        self.stdout.write(f"Annotation campaign {campaign.name!r}: {campaign.item_count} pairs for "
                          f"{', '.join(user.username for user in physicians)}.")
