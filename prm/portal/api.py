"""The portal API (/api/v1/portal/…), one sub-router per concern."""

from ninja import Router

from prm.portal import api_announcements, api_cases

router = Router(tags=["portal"])
router.add_router("", api_announcements.router)
router.add_router("", api_cases.router)
