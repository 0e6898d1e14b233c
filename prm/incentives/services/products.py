"""Writes of the product catalogue and its rebate versions (R4 "Products and rules":
product info, the rebate per subscriber, all configurable with effective dates; rule 6
"amounts configurable").

Rules of rebate versions:

- A new rule is always a new version from a date on. The currently open version (no
  end date) is closed the day before the new one starts. The new date must come after
  the start of the latest version (a version starting the same day or earlier is
  refused), and after the end of a closed latest version (no overlap).
- Rules used by a settlement never change. A version is *frozen* when it starts on or
  before the last day of the latest period settled by a run in approval or approved
  (``rebate_frozen_until``): it is never changed or deleted, and a new version must
  start after that day, so that closing the open version never changes the rebate of
  a day a settlement already priced.
- A version that is not frozen may have its rebate or note corrected; the latest one
  may be deleted, which reopens the previous one up to the deleted one's end.

Every change writes an audit event in its transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError
from prm.incentives.models import Product, RebateVersion
from prm.incentives.selectors_products import rebate_frozen_until, version_is_frozen
from prm.incentives.services.channels import CODE_PATTERN, refuse, require_permission

CHANGE_PERMISSION = "incentives.change_product"
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
PRODUCT_FIELDS = ("name", "kind", "monthly_fee", "description", "is_active")


def _audit(*, actor, action: str, target, changes: dict[str, Any]) -> None:
    audit_event_create(
        actor=actor,
        action=action,
        target=target,
        changes=changes,
        actor_username="system" if actor is None else "",
    )


def money_clean(value: Any, *, field: str) -> Decimal:
    """A non-negative amount in yuan with at most two decimal places."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise refuse("invalid_amount", _("Give an amount of 0 or more in yuan."), field=field)
    if amount != amount.quantize(CENT):
        raise refuse("invalid_amount", _("An amount has at most two decimal places."), field=field)
    return amount.quantize(CENT)


def product_values_clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name == "name":
            text = str(value or "").strip()
            if not text:
                raise refuse("required", _("This value is required."), field=name)
            if len(text) > 200:
                raise refuse(
                    "too_long", _("At most %(max)s characters.") % {"max": 200}, field=name
                )
            cleaned[name] = text
        elif name == "kind":
            if value not in Product.Kind.values:
                raise refuse("invalid_kind", _("Choose a product type."), field="kind")
            cleaned[name] = value
        elif name == "monthly_fee":
            cleaned[name] = money_clean(value, field=name)
        elif name == "description":
            text = str(value or "").strip()
            if len(text) > 5000:
                raise refuse(
                    "too_long", _("At most %(max)s characters.") % {"max": 5000}, field=name
                )
            cleaned[name] = text
        elif name == "is_active":
            cleaned[name] = bool(value)
        else:
            raise refuse("unknown_field", _("Unknown field %(name)s.") % {"name": name})
    return cleaned


# ---- Products -------------------------------------------------------------------------


@transaction.atomic
def product_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    monthly_fee: Any,
    description: str = "",
    is_active: bool = True,
    rebate: Any = None,
    effective_from: date | None = None,
) -> Product:
    """Add a product to the catalogue, with its first rebate version when ``rebate``
    and ``effective_from`` are given (both or neither)."""
    require_permission(actor, CHANGE_PERMISSION)
    code = str(code or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise refuse(
            "invalid_code",
            _("%(label)s: up to 30 letters, digits, dots, dashes or underscores.")
            % {"label": _("Product code")},
            field="code",
        )
    values = product_values_clean(
        {
            "name": name,
            "kind": kind,
            "monthly_fee": monthly_fee,
            "description": description,
            "is_active": is_active,
        }
    )
    has_rebate = rebate not in (None, "")
    if has_rebate != (effective_from is not None):
        field = "effective_from" if has_rebate else "rebate"
        raise refuse(
            "rebate_incomplete",
            _("Give both the rebate and the date it applies from, or neither."),
            field=field,
        )
    if Product.objects.filter(code__iexact=code).exists():
        raise refuse(
            "product_code_taken",
            _("A product with the code %(code)s exists.") % {"code": code},
            field="code",
            status=409,
        )
    try:
        with transaction.atomic():
            product = Product.objects.create(code=code, **values)
    except IntegrityError as exc:
        raise refuse(
            "product_code_taken",
            _("A product with the code %(code)s exists.") % {"code": code},
            field="code",
            status=409,
        ) from exc
    _audit(actor=actor, action="product.created", target=product, changes={"code": code, **values})
    if has_rebate:
        rebate_version_add(
            actor=actor, product=product, rebate=rebate, effective_from=effective_from
        )
    return product


@transaction.atomic
def product_update(*, actor, product: Product, **fields: Any) -> Product:
    """Change a product's info (any of ``PRODUCT_FIELDS``). The rebate is not a product
    field: it changes by a new version."""
    require_permission(actor, CHANGE_PERMISSION)
    product = Product.objects.select_for_update(of=("self",)).get(pk=product.pk)
    values = product_values_clean(fields)
    changes = field_changes(product, values)
    if not changes:
        return product
    for name, value in values.items():
        setattr(product, name, value)
    product.save(update_fields=[*values, "updated_at"])
    _audit(actor=actor, action="product.updated", target=product, changes=changes)
    return product


# ---- Rebate versions ------------------------------------------------------------------


def _frozen_refusal(frozen_until: date) -> ApplicationError:
    return refuse(
        "rebate_version_frozen",
        _(
            "Settlements up to %(date)s are in approval or approved: rules up to that day "
            "cannot change. Start the new rule after %(date)s."
        )
        % {"date": frozen_until.isoformat()},
        field="effective_from",
        status=409,
    )


def _version_audit(version: RebateVersion) -> dict[str, Any]:
    return {
        "product": version.product.code,
        "rebate": version.rebate,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "note": version.note,
    }


def _check_after_latest(
    product: Product, latest: RebateVersion | None, effective_from: date
) -> None:
    """A new version starts after the latest one's start, and after its end if closed."""
    if latest is None:
        return
    if effective_from <= latest.effective_from:
        raise refuse(
            "rebate_version_not_after_latest",
            _(
                "The current rule of %(product)s starts on %(date)s: a new rule must "
                "start after that day."
            )
            % {"product": product.code, "date": latest.effective_from.isoformat()},
            field="effective_from",
            status=409,
        )
    if latest.effective_to is not None and effective_from <= latest.effective_to:
        raise refuse(
            "rebate_version_overlap",
            _("The rule from %(start)s applies until %(end)s: start the new one later.")
            % {
                "start": latest.effective_from.isoformat(),
                "end": latest.effective_to.isoformat(),
            },
            field="effective_from",
            status=409,
        )


@transaction.atomic
def rebate_version_add(
    *, actor, product: Product, rebate: Any, effective_from: date, note: str = ""
) -> RebateVersion:
    """A new rebate rule for a product from ``effective_from`` on (open-ended); the open
    version ends the day before."""
    require_permission(actor, CHANGE_PERMISSION)
    # The product row serialises concurrent version changes of one product.
    product = Product.objects.select_for_update(of=("self",)).get(pk=product.pk)
    amount = money_clean(rebate, field="rebate")
    note = str(note or "").strip()
    if len(note) > 300:
        raise refuse("too_long", _("At most %(max)s characters.") % {"max": 300}, field="note")
    if not isinstance(effective_from, date):
        raise refuse("required", _("This value is required."), field="effective_from")
    latest = (
        RebateVersion.objects.select_for_update(of=("self",))
        .filter(product=product)
        .order_by("-effective_from")
        .first()
    )
    _check_after_latest(product, latest, effective_from)
    frozen_until = rebate_frozen_until()
    if frozen_until is not None and effective_from <= frozen_until:
        raise _frozen_refusal(frozen_until)
    closed = None
    if latest is not None and latest.effective_to is None:
        latest.effective_to = effective_from - timedelta(days=1)
        latest.save(update_fields=["effective_to", "updated_at"])
        closed = latest
    version = RebateVersion.objects.create(
        product=product,
        rebate=amount,
        effective_from=effective_from,
        note=note,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    changes = _version_audit(version)
    if closed is not None:
        changes["closed_version"] = {
            "effective_from": closed.effective_from,
            "effective_to": [None, closed.effective_to],
        }
    _audit(actor=actor, action="rebate_version.created", target=version, changes=changes)
    return version


def _locked_version(version: RebateVersion) -> tuple[Product, RebateVersion]:
    product = Product.objects.select_for_update(of=("self",)).get(pk=version.product_id)
    version = (
        RebateVersion.objects.select_for_update(of=("self",))
        .select_related("product")
        .get(pk=version.pk)
    )
    return product, version


def _require_not_frozen(version: RebateVersion) -> None:
    frozen_until = rebate_frozen_until()
    if version_is_frozen(version, frozen_until=frozen_until):
        raise refuse(
            "rebate_version_frozen",
            _(
                "Settlements up to %(date)s used this rule: it can no longer change. Add a "
                "new rule from a later date instead."
            )
            % {"date": frozen_until.isoformat()},
            status=409,
        )


@transaction.atomic
def rebate_version_update(
    *, actor, version: RebateVersion, rebate: Any, note: str = ""
) -> RebateVersion:
    """Correct the rebate or the note of a version no settlement used yet (its dates
    change only by adding or deleting versions)."""
    require_permission(actor, CHANGE_PERMISSION)
    _product, version = _locked_version(version)
    _require_not_frozen(version)
    note = str(note or "").strip()
    if len(note) > 300:
        raise refuse("too_long", _("At most %(max)s characters.") % {"max": 300}, field="note")
    values = {"rebate": money_clean(rebate, field="rebate"), "note": note}
    changes = field_changes(version, values)
    if not changes:
        return version
    for name, value in values.items():
        setattr(version, name, value)
    version.save(update_fields=[*values, "updated_at"])
    _audit(
        actor=actor,
        action="rebate_version.updated",
        target=version,
        changes={
            "product": version.product.code,
            "effective_from": version.effective_from,
            **changes,
        },
    )
    return version


@transaction.atomic
def rebate_version_delete(*, actor, version: RebateVersion) -> None:
    """Delete the latest version of a product when no settlement used it; the previous
    version applies again up to the deleted one's end."""
    require_permission(actor, CHANGE_PERMISSION)
    product, version = _locked_version(version)
    _require_not_frozen(version)
    later = RebateVersion.objects.filter(
        product=product, effective_from__gt=version.effective_from
    ).exists()
    if later:
        raise refuse(
            "rebate_version_not_latest",
            _("Only the latest rule of a product can be deleted."),
            status=409,
        )
    previous = (
        RebateVersion.objects.select_for_update(of=("self",))
        .filter(product=product, effective_from__lt=version.effective_from)
        .order_by("-effective_from")
        .first()
    )
    changes = _version_audit(version)
    target_repr = str(version)
    version_pk = version.pk
    version.delete()
    if previous is not None and previous.effective_to == version.effective_from - timedelta(days=1):
        changes["reopened_version"] = {
            "effective_from": previous.effective_from,
            "effective_to": [previous.effective_to, version.effective_to],
        }
        previous.effective_to = version.effective_to
        previous.save(update_fields=["effective_to", "updated_at"])
    audit_event_create(
        actor=actor,
        action="rebate_version.deleted",
        target_type=RebateVersion._meta.label_lower,
        target_id=str(version_pk),
        target_repr=target_repr,
        changes=changes,
        actor_username="system" if actor is None else "",
    )
