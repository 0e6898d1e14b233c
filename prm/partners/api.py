"""The partners API (/api/v1/partners/…), one sub-router per concern."""

from ninja import Router

from prm.partners import api_agreements, api_profile, api_registration, api_review

router = Router(tags=["partners"])
router.add_router("", api_registration.router)
router.add_router("", api_review.router)
router.add_router("", api_profile.router)
router.add_router("", api_agreements.router)
