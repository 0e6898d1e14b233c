"""API: the product catalogue and rebate versions (/api/v1/incentives/products…, R4
"Products and rules").

Products are addressed by code. Reads need ``incentives.view_product`` (token scope
``incentives.read``), changes ``incentives.change_product`` (``incentives.write``). A
new rebate rule is ``POST …/versions`` with its start date: the open version ends the
day before; rules a submitted or approved settlement used never change (409).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from prm.api import ErrorOut, paginate, require_permission
from prm.incentives import selectors_products as selectors
from prm.incentives.models import Product, RebateVersion
from prm.incentives.services import products as services

router = Router(tags=["incentives"])

READ_SCOPE = "incentives.read"
WRITE_SCOPE = "incentives.write"
VIEW = "incentives.view_product"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RebateOut(Schema):
    rebate: Decimal
    effective_from: date
    effective_to: date | None


class ProductOut(Schema):
    code: str
    name: str
    kind: str = Field(description="data_package, own_business, broadband, sp_business")
    monthly_fee: Decimal
    description: str
    is_active: bool = Field(description="Open for recommendation")
    current_rebate: RebateOut | None = Field(description="The rule in force today")
    updated_at: datetime


class ProductFilters(Schema):
    q: str | None = Field(None, description="Code or name contains")
    kind: str | None = None
    active: bool | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ProductIn(Schema):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    monthly_fee: Decimal
    description: str = ""
    is_active: bool = True
    rebate: Decimal | None = Field(None, description="First rebate rule (with effective_from)")
    effective_from: date | None = None


class ProductPatch(Schema):
    name: str | None = None
    kind: str | None = None
    monthly_fee: Decimal | None = None
    description: str | None = None
    is_active: bool | None = None


class VersionOut(Schema):
    rebate: Decimal
    effective_from: date
    effective_to: date | None
    note: str
    is_frozen: bool = Field(description="Used by a submitted or approved settlement: fixed")
    created_at: datetime


class VersionIn(Schema):
    rebate: Decimal
    effective_from: date
    note: str = Field("", max_length=300)


def _product_out(product: Product) -> dict:
    current = product.current_versions[0] if product.current_versions else None
    return {
        "code": product.code,
        "name": product.name,
        "kind": product.kind,
        "monthly_fee": product.monthly_fee,
        "description": product.description,
        "is_active": product.is_active,
        "current_rebate": (
            {
                "rebate": current.rebate,
                "effective_from": current.effective_from,
                "effective_to": current.effective_to,
            }
            if current
            else None
        ),
        "updated_at": product.updated_at,
    }


def _version_out(version: RebateVersion, *, frozen_until: date | None) -> dict:
    return {
        "rebate": version.rebate,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "note": version.note,
        "is_frozen": selectors.version_is_frozen(version, frozen_until=frozen_until),
        "created_at": version.created_at,
    }


def _one(request, code: str) -> dict:
    selectors.product_get_for(user=request.user, code=code)  # 404 when unknown
    product = (
        selectors.product_list_filtered(user=request.user, today=timezone.localdate())
        .filter(code=code)
        .get()
    )
    return _product_out(product)


@router.get(
    "/products",
    response={200: list[ProductOut], **ERRORS},
    summary="The product catalogue (X-Total-Count holds the total)",
)
def product_list(request, response: HttpResponse, filters: Query[ProductFilters]):
    require_permission(request, VIEW, scope=READ_SCOPE)
    products = selectors.product_list_filtered(
        user=request.user,
        filters=filters.model_dump(exclude={"offset", "limit"}),
        today=timezone.localdate(),
    )
    page = paginate(products, response=response, offset=filters.offset, limit=filters.limit)
    return [_product_out(product) for product in page]


@router.post("/products", response={201: ProductOut, **ERRORS}, summary="Create a product")
def product_create(request, payload: ProductIn):
    require_permission(request, services.CHANGE_PERMISSION, scope=WRITE_SCOPE)
    product = services.product_create(actor=request.user, **payload.model_dump())
    return Status(201, _one(request, product.code))


@router.get("/products/{code}", response={200: ProductOut, **ERRORS}, summary="One product")
def product_detail(request, code: str):
    require_permission(request, VIEW, scope=READ_SCOPE)
    return _one(request, code)


@router.patch(
    "/products/{code}",
    response={200: ProductOut, **ERRORS},
    summary="Change a product's info (only the fields given; the rebate changes by version)",
)
def product_update(request, code: str, payload: ProductPatch):
    require_permission(request, services.CHANGE_PERMISSION, scope=WRITE_SCOPE)
    product = selectors.product_get_for(user=request.user, code=code)
    fields = {
        name: value
        for name, value in payload.model_dump(exclude_unset=True).items()
        if value is not None or name == "description"
    }
    services.product_update(actor=request.user, product=product, **fields)
    return _one(request, code)


@router.get(
    "/products/{code}/versions",
    response={200: list[VersionOut], **ERRORS},
    summary="The rebate rules of a product, oldest first",
)
def version_list(request, code: str):
    require_permission(request, VIEW, scope=READ_SCOPE)
    product = selectors.product_get_for(user=request.user, code=code)
    frozen_until = selectors.rebate_frozen_until()
    return [
        _version_out(version, frozen_until=frozen_until)
        for version in selectors.product_versions(product=product)
    ]


@router.post(
    "/products/{code}/versions",
    response={201: VersionOut, **ERRORS},
    summary="A new rebate rule from a date on (the open rule ends the day before)",
)
def version_create(request, code: str, payload: VersionIn):
    require_permission(request, services.CHANGE_PERMISSION, scope=WRITE_SCOPE)
    product = selectors.product_get_for(user=request.user, code=code)
    version = services.rebate_version_add(
        actor=request.user,
        product=product,
        rebate=payload.rebate,
        effective_from=payload.effective_from,
        note=payload.note,
    )
    return Status(201, _version_out(version, frozen_until=selectors.rebate_frozen_until()))
