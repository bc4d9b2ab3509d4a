"""Supersede the v1 rewrite prompts with v2: the same words, the attribute last (longer shared prefixes)."""

from django.db import migrations

from synthesis.prompts import catalogue_v1, catalogue_v2


def load(apps, schema_editor):
    Attribute = apps.get_model("synthesis", "Attribute")
    PromptTemplate = apps.get_model("synthesis", "PromptTemplate")
    keys = [data["key"] for data in catalogue_v1.ATTRIBUTES]
    attributes = {attribute.key: attribute for attribute in Attribute.objects.filter(key__in=keys)}
    for data in catalogue_v2.templates(keys):
        attribute = attributes.get(data["attribute"])
        if attribute is None or PromptTemplate.objects.filter(kind=data["kind"], attribute=attribute,
                                                              version__gte=2).exists():
            continue  # a lead removed the attribute, or already wrote a newer version: leave theirs in place
        current = PromptTemplate.objects.filter(kind=data["kind"], attribute=attribute, status="active").first()
        if current is not None:
            current.status = "superseded"
            current.save(update_fields=["status"])
        PromptTemplate.objects.create(
            kind=data["kind"], attribute=attribute, version=2, status="active", supersedes=current,
            system_text=data["system_text"], user_text=data["user_text"], placeholders=data["placeholders"],
            notes=catalogue_v2.NOTES,
        )


def unload(apps, schema_editor):
    PromptTemplate = apps.get_model("synthesis", "PromptTemplate")
    for template in PromptTemplate.objects.filter(version=2, notes=catalogue_v2.NOTES):
        previous = template.supersedes
        template.delete()
        if previous is not None:
            previous.status = "active"
            previous.save(update_fields=["status"])


class Migration(migrations.Migration):
    dependencies = [("synthesis", "0004_endpoint_queue")]
    operations = [migrations.RunPython(load, unload)]
