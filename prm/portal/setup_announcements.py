"""Registrations of announcements, public notices and the knowledge base (imported in
PortalConfig.ready): menu entries, attachment owners and notification events."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.core.attachments import attachment_owner_register
from prm.core.navigation import NavItem, nav_register
from prm.core.notifications import notification_event_register
from prm.portal.models import Announcement, KnowledgeArticle
from prm.portal.selectors_announcements import announcements_visible, knowledge_articles_visible
from prm.portal.services.announcements import EVENT_PUBLISHED, EVENT_PUBLISHED_ACK
from prm.portal.services.knowledge import EVENT_APPROVED, EVENT_REJECTED, EVENT_SUBMITTED

PORTAL_SECTION = _("Portal")

nav_register(
    NavItem(
        key="portal_announcements",
        label=_("Announcements"),
        url_name="portal:announcement_list",
        icon="megaphone",
        permission="portal.view_announcement",
        section=PORTAL_SECTION,
        order=300,
    ),
    NavItem(
        key="portal_notices",
        label=_("Public notices"),
        url_name="portal:notice_list",
        icon="clipboard-check",
        permission="portal.view_publicnotice",
        section=PORTAL_SECTION,
        order=310,
    ),
    NavItem(
        key="portal_knowledge",
        label=_("Knowledge base"),
        url_name="portal:knowledge_list",
        icon="book",
        permission="portal.view_knowledgearticle",
        section=PORTAL_SECTION,
        order=320,
    ),
)

# Files are attached on the announcement's and article's own pages while they are
# drafts (the services check that), never through the generic upload page.
attachment_owner_register(Announcement, visible=lambda user: announcements_visible(user=user))
attachment_owner_register(
    KnowledgeArticle, visible=lambda user: knowledge_articles_visible(user=user)
)

notification_event_register(
    EVENT_PUBLISHED,
    subject=_("Announcement: %(title)s"),
    body=_("%(org)s published the announcement “%(title)s”, visible from %(visible_from)s."),
)
notification_event_register(
    EVENT_PUBLISHED_ACK,
    subject=_("Announcement to acknowledge: %(title)s"),
    body=_(
        "%(org)s published the announcement “%(title)s”, visible from %(visible_from)s. "
        "Please read it and acknowledge it."
    ),
)
notification_event_register(
    EVENT_SUBMITTED,
    subject=_("Knowledge article to review: %(title)s"),
    body=_("%(author)s submitted the knowledge article “%(title)s” for review."),
)
notification_event_register(
    EVENT_APPROVED,
    subject=_("Knowledge article published: %(title)s"),
    body=_("%(reviewer)s approved your knowledge article “%(title)s”; it is published."),
)
notification_event_register(
    EVENT_REJECTED,
    subject=_("Knowledge article returned: %(title)s"),
    body=_("%(reviewer)s returned your knowledge article “%(title)s”: %(note)s"),
)
