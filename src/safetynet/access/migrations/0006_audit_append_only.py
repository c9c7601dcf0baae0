"""The audit trail refuses UPDATE and DELETE in the database itself, whatever code or console asks."""

from django.db import migrations, models


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from safetynet.access.audit import install_triggers

    install_triggers(schema_editor.connection)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    from safetynet.access.audit import remove_triggers

    remove_triggers(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("access", "0005_audit_seals")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="user",
            field=models.ForeignKey(
                null=True,
                on_delete=models.deletion.PROTECT,
                related_name="audit_entries",
                to="access.user",
            ),
        ),
        migrations.RunPython(install, remove),
    ]
