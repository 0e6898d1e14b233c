"""Pages of the product catalogue and its rebate versions (R4 "Products and rules").

The catalogue is operator-wide: reading needs ``incentives.view_product``, changing it
``incentives.change_product``. A version is addressed by its product code and start date
(``/incentives/products/CRBT/versions/2026-03-01/edit/``).
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.forms import form_add_application_error
from prm.core.imports import FORMATS
from prm.core.pages import is_htmx_partial, page, query_without_page
from prm.incentives import selectors_products as selectors
from prm.incentives.forms_products import ProductFilterForm, ProductForm, RebateVersionForm
from prm.incentives.imports_channels import PRODUCT_IMPORT_KIND
from prm.incentives.models import RebateVersion
from prm.incentives.services import products as services
from prm.incentives.views_channels import PAGE_SIZE, import_kinds_for

VIEW = "incentives.view_product"
CHANGE = services.CHANGE_PERMISSION
PRODUCT_FIELDS = ("name", "kind", "monthly_fee", "description", "is_active")


def _reraise_scope(exc: ApplicationError) -> None:
    if isinstance(exc, (NotFound, Forbidden)):
        raise exc


@page(VIEW)
def product_list(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET or None)
    products = selectors.product_list_filtered(
        user=request.user, filters=form.filters(), today=timezone.localdate()
    )
    context = {
        "form": form,
        "page": Paginator(products, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_change": request.user.has_perm(CHANGE),
        "import_specs": import_kinds_for(request.user, PRODUCT_IMPORT_KIND),
        "formats": FORMATS,
    }
    if is_htmx_partial(request):
        return render(request, "incentives/products/_table.html", context)
    return render(request, "incentives/products/list.html", context)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST or None, initial={"is_active": True})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                product = services.product_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                _reraise_scope(exc)
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request, _("The product %(code)s was created.") % {"code": product.code}
                )
                return redirect("incentives:product_detail", code=product.code)
        status = 400
    return render(
        request, "incentives/products/form.html", {"form": form, "product": None}, status=status
    )


@page(VIEW)
def product_detail(request: HttpRequest, code: str) -> HttpResponse:
    product = selectors.product_get_for(user=request.user, code=code)
    today = timezone.localdate()
    can_change = request.user.has_perm(CHANGE)
    context = {
        "product": product,
        "rows": selectors.product_version_rows(product=product, today=today),
        "frozen_until": selectors.rebate_frozen_until(),
        "can_change": can_change,
        "version_form": RebateVersionForm() if can_change else None,
    }
    return render(request, "incentives/products/detail.html", context)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, code: str) -> HttpResponse:
    product = selectors.product_get_for(user=request.user, code=code)
    initial = {name: getattr(product, name) for name in PRODUCT_FIELDS}
    form = ProductForm(request.POST or None, creating=False, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.product_update(actor=request.user, product=product, **form.cleaned_data)
            except ApplicationError as exc:
                _reraise_scope(exc)
                form_add_application_error(form, exc)
            else:
                messages.success(request, _("The product was saved."))
                return redirect("incentives:product_detail", code=product.code)
        status = 400
    return render(
        request,
        "incentives/products/form.html",
        {"form": form, "product": product},
        status=status,
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def rebate_version_add(request: HttpRequest, code: str) -> HttpResponse:
    product = selectors.product_get_for(user=request.user, code=code)
    form = RebateVersionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                version = services.rebate_version_add(
                    actor=request.user, product=product, **form.cleaned_data
                )
            except ApplicationError as exc:
                _reraise_scope(exc)
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request,
                    _("The rebate %(rebate)s applies from %(date)s.")
                    % {"rebate": version.rebate, "date": version.effective_from.isoformat()},
                )
                return redirect("incentives:product_detail", code=product.code)
        status = 400
    return render(
        request,
        "incentives/products/version_form.html",
        {
            "form": form,
            "product": product,
            "version": None,
            "frozen_until": selectors.rebate_frozen_until(),
        },
        status=status,
    )


def _version(request: HttpRequest, code: str, effective_from: str) -> RebateVersion:
    product = selectors.product_get_for(user=request.user, code=code)
    try:
        start = date.fromisoformat(effective_from)
    except ValueError as exc:
        raise Http404 from exc
    return selectors.product_version_get(product=product, effective_from=start)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def rebate_version_edit(request: HttpRequest, code: str, effective_from: str) -> HttpResponse:
    version = _version(request, code, effective_from)
    initial = {"rebate": version.rebate, "note": version.note}
    form = RebateVersionForm(request.POST or None, with_date=False, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.rebate_version_update(
                    actor=request.user, version=version, **form.cleaned_data
                )
            except ApplicationError as exc:
                _reraise_scope(exc)
                form_add_application_error(form, exc)
            else:
                messages.success(request, _("The rebate rule was saved."))
                return redirect("incentives:product_detail", code=code)
        status = 400
    return render(
        request,
        "incentives/products/version_form.html",
        {
            "form": form,
            "product": version.product,
            "version": version,
            "frozen_until": selectors.rebate_frozen_until(),
        },
        status=status,
    )


@page(CHANGE)
@require_POST
def rebate_version_delete(request: HttpRequest, code: str, effective_from: str) -> HttpResponse:
    version = _version(request, code, effective_from)
    try:
        services.rebate_version_delete(actor=request.user, version=version)
    except ApplicationError as exc:
        _reraise_scope(exc)
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The rebate rule was deleted."))
    return redirect("incentives:product_detail", code=code)
