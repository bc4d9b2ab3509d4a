"""Load version 1 of the attribute catalogue and its prompt templates."""

from django.db import migrations

from synthesis.prompts import catalogue_v1


def load(apps, schema_editor):
    Attribute = apps.get_model("synthesis", "Attribute")
    PromptTemplate = apps.get_model("synthesis", "PromptTemplate")
    by_key = {}
    for data in catalogue_v1.ATTRIBUTES:
        fields = {k: v for k, v in data.items() if k != "key"}
        by_key[data["key"]], _ = Attribute.objects.get_or_create(key=data["key"], defaults=fields)
    for data in catalogue_v1.templates():
        attribute = by_key[data["attribute"]] if data["attribute"] else None
        PromptTemplate.objects.get_or_create(
            kind=data["kind"], attribute=attribute, version=1,
            defaults={"system_text": data["system_text"], "user_text": data["user_text"],
                      "placeholders": data["placeholders"], "status": "active", "notes": "Catalogue v1."},
        )


def unload(apps, schema_editor):
    apps.get_model("synthesis", "PromptTemplate").objects.filter(version=1, notes="Catalogue v1.").delete()


class Migration(migrations.Migration):
    dependencies = [("synthesis", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
