from django.db import migrations, models


def retire_doubles(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Batches landed twice with the same content (before the database enforced it): the first stays, the
    later ones are marked failed, so no reader counts their rows twice. Their files stay where they are."""
    Batch = apps.get_model("lake", "Batch")
    seen: set[tuple[str, str]] = set()
    for batch in Batch.objects.filter(status__in=["running", "done"]).order_by("id"):
        key = (batch.source, batch.content_hash)
        if key in seen:
            batch.status = "failed"
            batch.message = "与此前批次内容相同，重复推送，不计入"
            batch.save(update_fields=["status", "message"])
        seen.add(key)


class Migration(migrations.Migration):
    dependencies = [("lake", "0002_registrysnapshot_source_version")]

    operations = [
        migrations.AddField(
            model_name="batch", name="lease_until", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.RunPython(retire_doubles, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="batch",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["running", "done"])),
                fields=("source", "content_hash"),
                name="lake_one_live_batch_per_content",
            ),
        ),
    ]
