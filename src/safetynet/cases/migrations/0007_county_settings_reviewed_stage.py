from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_one_department_table")]

    operations = [
        migrations.RenameModel("CountyLimit", "CountySettings"),
        migrations.AddField(
            model_name="countysettings",
            name="amount_rounding",
            field=models.DecimalField(decimal_places=2, default=Decimal("1"), max_digits=6),
        ),
        migrations.AddField(
            model_name="countysettings",
            name="repeat_window_days",
            field=models.PositiveSmallIntegerField(default=90),
        ),
        migrations.AlterField(
            model_name="case",
            name="stage",
            field=models.CharField(
                choices=[
                    ("new", "待核实"),
                    ("verified", "已实地核实"),
                    ("informed", "已告知政策"),
                    ("applying", "协助申请中"),
                    ("reviewed", "已审核待确认"),
                    ("helping", "帮扶中"),
                    ("closed", "已结案"),
                ],
                default="new",
                max_length=10,
            ),
        ),
    ]
