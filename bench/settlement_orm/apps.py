from django.apps import AppConfig


class SettlementOrmConfig(AppConfig):
    name = "bench.settlement_orm"
    label = "settlement_orm"
    verbose_name = "Settlement ORM baseline (benchmark only)"
    default_auto_field = "django.db.models.BigAutoField"
