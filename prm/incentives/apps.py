from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Each concern registers its menu entries, workflows, attachment owners, import specs and
# notification events in its own setup module (ADR 0012).
SETUP_MODULES = (
    "setup_channels",
    "setup_promoters",
    "setup_products",
    "setup_recommendations",
    "setup_billing",
    "setup_settlement",
    "setup_reports",
    "home",
)


class IncentivesConfig(AppConfig):
    name = "prm.incentives"
    label = "incentives"
    verbose_name = _("Channel incentives")

    def ready(self) -> None:
        from importlib import import_module
        from importlib.util import find_spec

        for module in SETUP_MODULES:
            # Concerns land one by one; a missing module is skipped, not an error.
            if find_spec(f"{self.name}.{module}") is not None:
                import_module(f"{self.name}.{module}")
