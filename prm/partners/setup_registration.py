"""Registrations of partner self-registration (R1): its menu entry, ``Qualification`` as an
attachment owner, its notification events and the category sync after ``migrate``."""

from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from prm.core.attachments import attachment_owner_register
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.partners.models import Qualification
from prm.partners.selectors import partners_visible
from prm.partners.services.registration import partner_categories_sync_after_migrate

REGISTRATION_NAV_KEY = "partner_registration"

nav_register(
    NavItem(
        key=REGISTRATION_NAV_KEY,
        label=_("New partner registration"),
        url_name="partners:application",
        icon="building-add",
        permission="partners.register_partner",
        audience="partner",
        order=5,
    )
)


def qualifications_visible(user):
    """Qualifications (and so their files) follow the partner: its own users, operator
    staff whose subtree manages it, and the experts drawn to review its application."""
    from django.db.models import Q

    from prm.partners.selectors_review import partner_ids_for_expert

    return Qualification.objects.filter(
        Q(partner__in=partners_visible(user).values("pk"))
        | Q(partner_id__in=partner_ids_for_expert(user))
    )


# Uploads go through the owning pages (registration documents check the checklist
# line's allowed types), not the generic upload page.
attachment_owner_register(Qualification, visible=qualifications_visible)

notification_event_register(
    "partners.application_received",
    subject=_("Partner registration received: %(company)s"),
    body=_(
        "Your partner registration for %(company)s (version %(version)s) has been received "
        "and is under review. You will be told of the decision; you can also follow its "
        "progress with the registration progress query."
    ),
)

post_migrate.connect(
    partner_categories_sync_after_migrate, dispatch_uid="prm_partner_categories_sync"
)
