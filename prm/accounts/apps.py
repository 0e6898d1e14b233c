from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "prm.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from prm.accounts import menu, services, workflows  # noqa: F401  (registers nav, workflows)

        post_migrate.connect(services.roles_sync_after_migrate, dispatch_uid="prm_roles_sync")
