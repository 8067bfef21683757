"""Each timeline entry keeps the due date in force after it (for "replied on time").

Entries written before this migration get their assignment's current due date: the best
known value, exact unless the due date changed later (extension, reassignment, reopening).
"""

from typing import Any

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps: Any, schema_editor: Any) -> None:
    Assignment = apps.get_model("assignments", "Assignment")
    TimelineEntry = apps.get_model("assignments", "TimelineEntry")
    due = Assignment.objects.filter(pk=OuterRef("assignment_id")).values("due_date")[:1]
    TimelineEntry.objects.filter(due_date__isnull=True).update(due_date=Subquery(due))


class Migration(migrations.Migration):
    dependencies = [("assignments", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="timelineentry",
            name="due_date",
            field=models.DateField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
