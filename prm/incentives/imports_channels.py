"""Import/export kinds of the incentive master data (R0 import/export, R4): channels,
outlets, development targets and products with their current rebate. Registered from
``setup_channels`` (the ``incentives`` app has no ``imports`` module of its own).

All or nothing (``prm.core.imports``): every row is checked against the same rules as
the services before anything is written, then every row is written through the
services (scope checks, audit events) in one transaction.

Scope: an importer touches only channels managed in their org subtree, places them
under cities or counties of that subtree and links active partners they see. A code
that exists outside their scope is a row error, never an update.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import ApplicationError
from prm.core.imports import (
    Column,
    ImportSpec,
    RowError,
    choice_parser,
    import_spec_register,
    length_parser,
    regex_parser,
)
from prm.incentives.models import Channel, Outlet, Product, RebateVersion
from prm.incentives.selectors import channels_visible, products_visible
from prm.incentives.selectors_channels import (
    channel_org_choices,
    channel_partner_choices,
    outlets_visible,
    targets_visible,
)
from prm.incentives.selectors_products import (
    rebate_frozen_until,
    version_current,
)
from prm.incentives.services import channels as channel_services
from prm.incentives.services import products as product_services

CHANNEL_IMPORT_KIND = "incentive_channels"
OUTLET_IMPORT_KIND = "incentive_outlets"
TARGET_IMPORT_KIND = "incentive_targets"
PRODUCT_IMPORT_KIND = "incentive_products"

_CODE = regex_parser(
    r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,29}",
    _("A code is up to 30 letters, digits, dots, dashes or underscores."),
)
_CHANNEL_KIND_ALIASES = {
    "自有营业厅": "own_hall",
    "自营厅": "own_hall",
    "合作营业厅": "cooperative_hall",
    "合作厅": "cooperative_hall",
    "手机卖场": "handset_store",
    "卖场": "handset_store",
    "客服座席": "cs_seat",
    "客服": "cs_seat",
    "客户经理": "account_manager",
    "村级代理": "village_agent",
    "农村代理": "village_agent",
    "电话营销": "telemarketing",
    "外呼": "telemarketing",
    "集团客户经理": "group_account_manager",
    "社会代理": "social_agent",
    "社会渠道": "social_agent",
    "网上渠道": "online",
    "电子渠道": "online",
}
_PRODUCT_KIND_ALIASES = {
    "流量包": "data_package",
    "数据业务": "data_package",
    "自有业务": "own_business",
    "固网": "broadband",
    "宽带": "broadband",
    "SP业务": "sp_business",
    "彩铃": "sp_business",
}
_YES = {"1", "yes", "y", "true", "是", "开放", "有效", "启用"}
_NO = {"0", "no", "n", "false", "否", "关闭", "无效", "停用"}
_NOT_IN_SCOPE = _("No %(what)s with code %(code)s in your scope.")


def _flag_parser(value: str) -> bool:
    text = value.strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValidationError(_("Use 1 (yes) or 0 (no)."))


def _month_parser(value: str) -> date:
    text = value.strip()
    try:
        if len(text) == 7:
            year, month = text.split("-")
            return date(int(year), int(month), 1)
        return date.fromisoformat(text[:10]).replace(day=1)
    except ValueError:
        raise ValidationError(_("Give the month as YYYY-MM.")) from None


def _date_parser(value: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ValidationError(_("Give the date as YYYY-MM-DD.")) from None


def _row_error(exc: ApplicationError, *, fields: dict[str, str] | None = None) -> RowError:
    """A service refusal as a row error on the column it names (``fields`` maps a
    service field to a column key)."""
    field = exc.details.get("field") or ""
    column = (fields or {}).get(field, field) or "code"
    return RowError({column: exc.message})


def _scoped_by_code(queryset, codes: set[str]) -> dict[str, Any]:
    return {obj.code: obj for obj in queryset.filter(code__in=codes)}


def _existing_codes(model, codes: set[str]) -> dict[str, str]:
    """Every existing code that matches one of ``codes`` ignoring case: lower → code."""
    lowered = {code.lower() for code in codes if code}
    matches = (
        model.objects.annotate(code_lower=Lower("code"))
        .filter(code_lower__in=lowered)
        .values_list("code", flat=True)
    )
    return {code.casefold(): code for code in matches}


# ---- Channels -------------------------------------------------------------------------


@import_spec_register
class ChannelImport(ImportSpec):
    """Channels with their parameters, upserted by code (R4 channels). The active state
    is not imported: closing a channel is checked (active promoters) on its page."""

    kind = CHANNEL_IMPORT_KIND
    label = _("Channels")
    permission = channel_services.CHANGE_PERMISSION
    key_columns = ("code",)
    columns = (
        Column("code", _("Channel code"), required=True, parser=_CODE, aliases=("渠道编码",)),
        Column("name", _("Name"), required=True, parser=length_parser(200), aliases=("渠道名称",)),
        Column(
            "kind",
            _("Channel type"),
            required=True,
            parser=choice_parser(Channel.Kind, _CHANNEL_KIND_ALIASES),
            aliases=("渠道类型",),
        ),
        Column(
            "org_code",
            _("Org code"),
            required=True,
            aliases=("组织编码", "管理单位编码", "所属组织编码"),
        ),
        Column("partner_code", _("Partner code"), aliases=("合作伙伴编码",)),
        Column("contact_name", _("Contact"), parser=length_parser(100), aliases=("联系人",)),
        Column(
            "contact_phone",
            _("Contact phone"),
            parser=length_parser(20),
            aliases=("联系电话",),
        ),
        Column("address", _("Address"), parser=length_parser(300), aliases=("地址",)),
        Column(
            "rebate_share_percent",
            _("Rebate share (%)"),
            aliases=("酬金分成比例", "分成比例"),
        ),
        Column("monthly_quota", _("Monthly development quota"), aliases=("月度发展指标",)),
    )

    def prepare(self, *, actor, rows):
        codes = {row.get("code", "") for row in rows}
        return {
            "orgs": _scoped_by_code(
                channel_org_choices(user=actor), {row.get("org_code", "") for row in rows}
            ),
            "partners": _scoped_by_code(
                channel_partner_choices(user=actor),
                {row.get("partner_code", "") for row in rows},
            ),
            "in_scope": _scoped_by_code(channels_visible(user=actor), codes),
            "existing": _existing_codes(Channel, codes),
            "may_add": actor.has_perm(channel_services.ADD_PERMISSION),
            "actor": actor,
        }

    def clean(self, values, context):
        errors: dict[str, Any] = {}
        code = values["code"]
        channel = context["in_scope"].get(code)
        existing = context["existing"].get(code.casefold())
        if channel is None and existing is not None:
            errors["code"] = (
                _("A channel with this code exists outside your scope.")
                if existing == code
                else _("A channel with the code %(code)s exists.") % {"code": existing}
            )
        elif channel is None and not context["may_add"]:
            errors["code"] = _("You may change channels but not create them.")
        org = context["orgs"].get(values["org_code"])
        if org is None:
            errors["org_code"] = _("No city or county with code %(code)s in your scope.") % {
                "code": values["org_code"]
            }
        partner = None
        if values["partner_code"]:
            partner = context["partners"].get(values["partner_code"])
            if partner is None:
                errors["partner_code"] = _(
                    "No active partner with code %(code)s in your scope."
                ) % {"code": values["partner_code"]}
        checked = {
            "contact_phone": values["contact_phone"],
            "rebate_share_percent": values["rebate_share_percent"],
            "monthly_quota": values["monthly_quota"],
        }
        for name in ("rebate_share_percent", "monthly_quota"):
            if checked[name] == "":
                if channel is not None:
                    checked[name] = getattr(channel, name)
                else:
                    checked[name] = 100 if name == "rebate_share_percent" else 0
        for name, value in checked.items():
            try:
                values.update(
                    channel_services.channel_values_clean(
                        actor=context["actor"], values={name: value}
                    )
                )
            except ApplicationError as exc:
                errors[name] = exc.message
        if errors:
            raise RowError(errors)
        values["org"] = org
        values["partner"] = partner
        values["channel"] = channel
        return values

    def write(self, rows, *, actor):
        created = updated = 0
        for row in rows:
            fields = {name: row[name] for name in channel_services.CHANNEL_FIELDS}
            channel = row["channel"]
            if channel is None:
                channel_services.channel_create(actor=actor, code=row["code"], **fields)
                created += 1
                continue
            before = channel.updated_at
            channel = channel_services.channel_update(actor=actor, channel=channel, **fields)
            if channel.updated_at != before:
                updated += 1
        return created, updated

    def export_rows(self, *, user):
        channels = channels_visible(user=user).select_related("org", "partner").order_by("code")
        for channel in channels.iterator(chunk_size=2000):
            yield {
                "code": channel.code,
                "name": channel.name,
                "kind": channel.kind,
                "org_code": channel.org.code,
                "partner_code": channel.partner.code if channel.partner else "",
                "contact_name": channel.contact_name,
                "contact_phone": channel.contact_phone,
                "address": channel.address,
                "rebate_share_percent": str(channel.rebate_share_percent),
                "monthly_quota": str(channel.monthly_quota),
            }


# ---- Outlets --------------------------------------------------------------------------


@import_spec_register
class OutletImport(ImportSpec):
    """Outlets of channels, upserted by code. An existing outlet stays with its channel
    (moving staff between channels is not an import)."""

    kind = OUTLET_IMPORT_KIND
    label = _("Channel outlets")
    permission = channel_services.CHANGE_PERMISSION
    key_columns = ("code",)
    columns = (
        Column("code", _("Outlet code"), required=True, parser=_CODE, aliases=("网点编码",)),
        Column("name", _("Name"), required=True, parser=length_parser(200), aliases=("网点名称",)),
        Column("channel_code", _("Channel code"), required=True, aliases=("渠道编码",)),
        Column("address", _("Address"), parser=length_parser(300), aliases=("地址",)),
    )

    def prepare(self, *, actor, rows):
        codes = {row.get("code", "") for row in rows}
        return {
            "channels": _scoped_by_code(
                channels_visible(user=actor), {row.get("channel_code", "") for row in rows}
            ),
            "in_scope": {
                outlet.code: outlet
                for outlet in outlets_visible(user=actor)
                .select_related("channel")
                .filter(code__in=codes)
            },
            "existing": _existing_codes(Outlet, codes),
        }

    def clean(self, values, context):
        errors: dict[str, Any] = {}
        code = values["code"]
        outlet = context["in_scope"].get(code)
        existing = context["existing"].get(code.casefold())
        channel = context["channels"].get(values["channel_code"])
        if outlet is None and existing is not None:
            errors["code"] = (
                _("An outlet with this code exists outside your scope.")
                if existing == code
                else _("An outlet with the code %(code)s exists.") % {"code": existing}
            )
        if channel is None:
            errors["channel_code"] = _NOT_IN_SCOPE % {
                "what": _("channel"),
                "code": values["channel_code"],
            }
        elif outlet is not None and outlet.channel_id != channel.pk:
            errors["channel_code"] = _(
                "The outlet belongs to the channel %(code)s; it cannot be moved by import."
            ) % {"code": outlet.channel.code}
        elif outlet is None and not channel.is_active:
            errors["channel_code"] = _("Outlets are added to active channels only.")
        if errors:
            raise RowError(errors)
        values["outlet"] = outlet
        values["channel"] = channel
        return values

    def write(self, rows, *, actor):
        created = updated = 0
        for row in rows:
            outlet = row["outlet"]
            if outlet is None:
                channel_services.outlet_create(
                    actor=actor,
                    channel=row["channel"],
                    code=row["code"],
                    name=row["name"],
                    address=row["address"],
                )
                created += 1
                continue
            before = outlet.updated_at
            outlet = channel_services.outlet_update(
                actor=actor, outlet=outlet, name=row["name"], address=row["address"]
            )
            if outlet.updated_at != before:
                updated += 1
        return created, updated

    def export_rows(self, *, user):
        outlets = outlets_visible(user=user).select_related("channel").order_by("code")
        for outlet in outlets.iterator(chunk_size=2000):
            yield {
                "code": outlet.code,
                "name": outlet.name,
                "channel_code": outlet.channel.code,
                "address": outlet.address,
            }


# ---- Development targets --------------------------------------------------------------


@import_spec_register
class TargetImport(ImportSpec):
    """Monthly development targets per channel (and optionally product), upserted by
    month × channel × product (R4 marketing management)."""

    kind = TARGET_IMPORT_KIND
    label = _("Development targets")
    permission = channel_services.TARGET_PERMISSION
    key_columns = ("month", "channel_code", "product_code")
    columns = (
        Column("month", _("Month"), required=True, parser=_month_parser, aliases=("月份",)),
        Column("channel_code", _("Channel code"), required=True, aliases=("渠道编码",)),
        Column("product_code", _("Product code"), aliases=("产品编码",)),
        Column(
            "target",
            _("Target"),
            required=True,
            parser=regex_parser(r"[0-9]{1,8}", _("Give a whole number of 0 or more.")),
            aliases=("目标", "发展目标"),
        ),
    )

    def prepare(self, *, actor, rows):
        return {
            "channels": _scoped_by_code(
                channels_visible(user=actor), {row.get("channel_code", "") for row in rows}
            ),
            "products": _scoped_by_code(
                Product.objects.all(), {row.get("product_code", "") for row in rows}
            ),
        }

    def clean(self, values, context):
        errors: dict[str, Any] = {}
        channel = context["channels"].get(values["channel_code"])
        if channel is None:
            errors["channel_code"] = _NOT_IN_SCOPE % {
                "what": _("channel"),
                "code": values["channel_code"],
            }
        elif not channel.is_active:
            errors["channel_code"] = _("Targets are set for active channels only.")
        product = None
        if values["product_code"]:
            product = context["products"].get(values["product_code"])
            if product is None:
                errors["product_code"] = _("No product with code %(code)s.") % {
                    "code": values["product_code"]
                }
            elif not product.is_active:
                errors["product_code"] = _(
                    "The product %(code)s is not open for recommendation."
                ) % {"code": product.code}
        if errors:
            raise RowError(errors)
        values["channel"] = channel
        values["product"] = product
        values["target"] = int(values["target"])
        return values

    def write(self, rows, *, actor):
        existing = {
            (target.month, target.channel_id, target.product_id): target.target
            for target in targets_visible(user=actor).filter(
                channel__in=[row["channel"] for row in rows]
            )
        }
        created = updated = 0
        for row in rows:
            key = (row["month"], row["channel"].pk, row["product"].pk if row["product"] else None)
            before = existing.get(key)
            channel_services.target_set(
                actor=actor,
                month=row["month"],
                channel=row["channel"],
                product=row["product"],
                target=row["target"],
            )
            if before is None:
                created += 1
            elif before != row["target"]:
                updated += 1
        return created, updated

    def export_rows(self, *, user):
        targets = (
            targets_visible(user=user)
            .select_related("channel", "product")
            .order_by("month", "channel__code", F("product__code").asc(nulls_first=True))
        )
        for target in targets.iterator(chunk_size=2000):
            yield {
                "month": target.month.strftime("%Y-%m"),
                "channel_code": target.channel.code,
                "product_code": target.product.code if target.product else "",
                "target": str(target.target),
            }


# ---- Products -------------------------------------------------------------------------


def _versions_by_product(codes: set[str]) -> dict[str, list[RebateVersion]]:
    versions: dict[str, list[RebateVersion]] = {}
    for version in (
        RebateVersion.objects.filter(product__code__in=codes)
        .select_related("product")
        .order_by("effective_from")
    ):
        versions.setdefault(version.product.code, []).append(version)
    return versions


@import_spec_register
class ProductImport(ImportSpec):
    """The product catalogue with the current rebate, upserted by code (R4 products and
    rules). A rebate with a date that has no version yet adds a new version under the
    version rules (after the latest one, after the periods settlements fixed); a version
    is never changed by import. Re-importing an export changes nothing."""

    kind = PRODUCT_IMPORT_KIND
    label = _("Incentive products")
    permission = product_services.CHANGE_PERMISSION
    key_columns = ("code",)
    columns = (
        Column("code", _("Product code"), required=True, parser=_CODE, aliases=("产品编码",)),
        Column("name", _("Name"), required=True, parser=length_parser(200), aliases=("产品名称",)),
        Column(
            "kind",
            _("Product type"),
            required=True,
            parser=choice_parser(Product.Kind, _PRODUCT_KIND_ALIASES),
            aliases=("产品类型",),
        ),
        Column("monthly_fee", _("Monthly fee (yuan)"), required=True, aliases=("月功能费",)),
        Column(
            "is_active",
            _("Open for recommendation"),
            parser=_flag_parser,
            aliases=("是否开放", "状态"),
        ),
        Column("rebate", _("Rebate per subscriber (yuan)"), aliases=("酬金", "单用户酬金")),
        Column(
            "effective_from",
            _("Rebate effective from"),
            parser=_date_parser,
            aliases=("生效日期",),
        ),
    )

    def prepare(self, *, actor, rows):
        codes = {row.get("code", "") for row in rows}
        return {
            "products": _scoped_by_code(Product.objects.all(), codes),
            "existing": _existing_codes(Product, codes),
            "versions": _versions_by_product(codes),
            "frozen_until": rebate_frozen_until(),
            "today": timezone.localdate(),
        }

    def clean(self, values, context):
        errors: dict[str, Any] = {}
        code = values["code"]
        product = context["products"].get(code)
        existing = context["existing"].get(code.casefold())
        if product is None and existing is not None:
            errors["code"] = _("A product with the code %(code)s exists.") % {"code": existing}
        try:
            values["monthly_fee"] = product_services.money_clean(
                values["monthly_fee"], field="monthly_fee"
            )
        except ApplicationError as exc:
            errors["monthly_fee"] = exc.message
        if values["is_active"] == "":
            values["is_active"] = product.is_active if product is not None else True
        values["add_version"] = False
        try:
            if values["rebate"] != "":
                values["rebate"] = product_services.money_clean(values["rebate"], field="rebate")
            self._clean_rebate(values, context)
        except RowError as exc:
            errors.update(exc.errors)
        except ApplicationError as exc:
            errors["rebate"] = exc.message
        if errors:
            raise RowError(errors)
        values["product"] = product
        return values

    @staticmethod
    def _clean_rebate(values, context) -> None:
        """Decide whether the row adds a version; the same rules as
        ``rebate_version_add`` (checked here so that a bad row is a row error)."""
        rebate, start = values["rebate"], values["effective_from"]
        if rebate == "" and start == "":
            return
        if rebate == "":
            raise RowError({"rebate": _("Give the rebate that applies from this date.")})
        versions = context["versions"].get(values["code"], [])
        if start == "":
            current = version_current(versions, today=context["today"])
            if current is not None and current.rebate == rebate:
                return
            raise RowError({"effective_from": _("Give the date the new rebate applies from.")})
        same_day = next((v for v in versions if v.effective_from == start), None)
        if same_day is not None:
            if same_day.rebate == rebate:
                return
            raise RowError(
                {
                    "effective_from": _(
                        "A rule from %(date)s exists with the rebate %(rebate)s; rules are "
                        "not changed by import. Add a new rule from a later date."
                    )
                    % {"date": start.isoformat(), "rebate": same_day.rebate}
                }
            )
        latest = versions[-1] if versions else None
        if latest is not None and start <= latest.effective_from:
            raise RowError(
                {
                    "effective_from": _("A new rule must start after %(date)s.")
                    % {"date": latest.effective_from.isoformat()}
                }
            )
        if latest is not None and latest.effective_to and start <= latest.effective_to:
            raise RowError(
                {
                    "effective_from": _("The latest rule applies until %(date)s.")
                    % {"date": latest.effective_to.isoformat()}
                }
            )
        frozen_until = context["frozen_until"]
        if frozen_until is not None and start <= frozen_until:
            raise RowError(
                {
                    "effective_from": _(
                        "Settlements up to %(date)s are in approval or approved: start the new "
                        "rule after that day."
                    )
                    % {"date": frozen_until.isoformat()}
                }
            )
        values["add_version"] = True

    def write(self, rows, *, actor):
        created = updated = 0
        for row in rows:
            fields = {
                "name": row["name"],
                "kind": row["kind"],
                "monthly_fee": row["monthly_fee"],
                "is_active": row["is_active"],
            }
            product = row["product"]
            if product is None:
                product = product_services.product_create(actor=actor, code=row["code"], **fields)
                created += 1
                changed = False
            else:
                before = product.updated_at
                product = product_services.product_update(actor=actor, product=product, **fields)
                changed = product.updated_at != before
            if row["add_version"]:
                product_services.rebate_version_add(
                    actor=actor,
                    product=product,
                    rebate=row["rebate"],
                    effective_from=row["effective_from"],
                    note=str(_("Imported")),
                )
                changed = True
            if changed and row["product"] is not None:
                updated += 1
        return created, updated

    def export_rows(self, *, user):
        today = timezone.localdate()
        products = products_visible(user=user).order_by("code").prefetch_related("versions")
        for product in products:
            versions = sorted(product.versions.all(), key=lambda version: version.effective_from)
            shown = version_current(versions, today=today) or (versions[-1] if versions else None)
            yield {
                "code": product.code,
                "name": product.name,
                "kind": product.kind,
                "monthly_fee": str(product.monthly_fee),
                "is_active": "1" if product.is_active else "0",
                "rebate": str(shown.rebate) if shown else "",
                "effective_from": shown.effective_from.isoformat() if shown else "",
            }
