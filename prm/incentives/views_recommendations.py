"""Pages of recommendations (R4): the promoter's "New recommendation" form and "My
recommendations" (phone-first), the staff list of their subtree and the detail page.

A promoter sees only their own records; staff with ``view_recommendation`` their
subtree's. A record outside the user's reach is 404; a user who may see no
recommendation at all gets 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.core.pages import query_without_page
from prm.incentives.forms_recommendations import (
    MyRecommendationFilterForm,
    RecommendationFilterForm,
    RecommendationForm,
)
from prm.incentives.models import Recommendation
from prm.incentives.selectors import promoter_of_user
from prm.incentives.selectors_recommendations import (
    recommendation_channel_choices,
    recommendation_city_choices,
    recommendation_confirm_deadline,
    recommendation_get,
    recommendation_is_expired,
    recommendation_may_list,
    recommendation_may_record,
    recommendation_product_filter_choices,
    recommendation_products,
    recommendations_filtered,
    recommendations_own,
)
from prm.incentives.services.recommendations import recommendation_record

PAGE_SIZE = 25


def _render_list(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The full page, or only the results for an htmx filter request."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


@login_required
def recommendation_create(request: HttpRequest) -> HttpResponse:
    if not recommendation_may_record(request.user):
        raise PermissionDenied
    promoter = promoter_of_user(user=request.user)
    form = RecommendationForm(request.POST or None, products=recommendation_products())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                recommendation = recommendation_record(
                    actor=request.user,
                    promoter=promoter,
                    source=Recommendation.Source.WEB,
                    **form.service_arguments(),
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "Recommendation %(number)s recorded. %(msisdn)s receives an SMS and "
                        "confirms by replying to it."
                    )
                    % {"number": recommendation.number, "msisdn": recommendation.msisdn},
                )
                return redirect("incentives:recommendation_create")
        status = 400
    return render(
        request,
        "incentives/recommendations/form.html",
        {"form": form, "promoter": promoter},
        status=status,
    )


@login_required
def recommendation_mine(request: HttpRequest) -> HttpResponse:
    if not recommendation_may_record(request.user):
        raise PermissionDenied
    form = MyRecommendationFilterForm(request.GET or None)
    recommendations = recommendations_own(user=request.user, filters=form.filters())
    page = Paginator(recommendations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query_without_page(request)}
    return _render_list(
        request,
        "incentives/recommendations/mine.html",
        "incentives/recommendations/_mine_items.html",
        context,
    )


@login_required
def recommendation_list(request: HttpRequest) -> HttpResponse:
    if not recommendation_may_list(request.user):
        if recommendation_may_record(request.user):
            # A promoter's links to "the recommendations" land on their own list.
            query = request.GET.urlencode()
            return redirect(
                f"{reverse('incentives:recommendation_mine')}{'?' if query else ''}{query}"
            )
        raise PermissionDenied
    form = RecommendationFilterForm(
        request.GET or None,
        cities=recommendation_city_choices(user=request.user),
        channels=recommendation_channel_choices(user=request.user),
        products=recommendation_product_filter_choices(),
    )
    recommendations = recommendations_filtered(user=request.user, filters=form.filters())
    page = Paginator(recommendations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query_without_page(request)}
    return _render_list(
        request,
        "incentives/recommendations/list.html",
        "incentives/recommendations/_table.html",
        context,
    )


@login_required
def recommendation_detail(request: HttpRequest, number: str) -> HttpResponse:
    is_staff = recommendation_may_list(request.user)
    if not is_staff and promoter_of_user(user=request.user) is None:
        raise PermissionDenied
    try:
        recommendation = recommendation_get(user=request.user, number=number)
    except NotFound as exc:
        raise Http404 from exc
    context = {
        "recommendation": recommendation,
        "is_staff": is_staff,
        "deadline": recommendation_confirm_deadline(recommendation),
        "is_expired": recommendation_is_expired(recommendation),
    }
    return render(request, "incentives/recommendations/detail.html", context)
