from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from prm.core.models import SiteFlag

DEMO_FLAG_CACHE_KEY = "prm:demo-data-loaded"


def demo_data_loaded() -> bool:
    loaded = cache.get(DEMO_FLAG_CACHE_KEY)
    if loaded is None:
        loaded = SiteFlag.objects.filter(key="demo_data").exists()
        cache.set(DEMO_FLAG_CACHE_KEY, loaded, 60)
    return loaded


def platform(request):
    return {
        "prm_demo_banner": settings.PRM_DEMO_MODE or demo_data_loaded(),
        "prm_mode": settings.PRM_MODE,
    }
