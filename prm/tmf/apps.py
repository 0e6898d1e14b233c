from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TmfConfig(AppConfig):
    name = "prm.tmf"
    label = "tmf"
    verbose_name = _("TM Forum APIs")

    def ready(self) -> None:
        from prm.tmf import signals  # noqa: F401  (events to hub subscribers)
