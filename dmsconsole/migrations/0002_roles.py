"""The three roles as Django groups: Viewer, Operator, Administrator."""

from django.db import migrations

ROLE_NAMES = ("Viewer", "Operator", "Administrator")  # dmsconsole.roles.ROLE_NAMES, frozen here


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("dmsconsole", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
