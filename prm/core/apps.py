from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "prm.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # checks registers PRM's system checks, menu its nav items.
        from prm.core import checks, menu, workflow  # noqa: F401

        post_migrate.connect(
            workflow.definitions_sync_after_migrate, dispatch_uid="prm_workflow_sync"
        )
