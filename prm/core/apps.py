from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "prm.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from prm.core import menu, workflow  # noqa: F401  (menu registers nav items)

        post_migrate.connect(
            workflow.definitions_sync_after_migrate, dispatch_uid="prm_workflow_sync"
        )
