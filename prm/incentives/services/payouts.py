"""The payout file of an approved settlement (R4 commission management: payment).

Finance or the channel managers of the city (or above) with ``incentives.export_payout``
produce it as xlsx (with a total row) or csv (no total row, for bank upload tools): one
row per promoter whose payable amount is above zero — name, work ID, channel, bank,
bank account, amount — ordered by work ID. Only an approved (locked) run pays out; every
production is audited and stamped on the run (``payout_generated_at``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.imports import CONTENT_TYPES, FORMATS, ExportFile, table_write
from prm.incentives.models import SettlementRun, SettlementStatement
from prm.incentives.selectors import runs_visible

PAYOUT_PERMISSION = "incentives.export_payout"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PayoutRow:
    name: str
    work_id: str
    channel: str
    bank_name: str
    bank_account: str
    amount: Decimal


def payout_rows(*, run: SettlementRun) -> list[PayoutRow]:
    """The promoters to pay (payable > 0), by work ID."""
    statements = (
        SettlementStatement.objects.filter(run=run, payable_amount__gt=0)
        .select_related("promoter", "promoter__channel")
        .order_by("promoter__work_id", "promoter_id")
    )
    return [
        PayoutRow(
            name=statement.promoter.name,
            work_id=statement.promoter.work_id or "",
            channel=statement.promoter.channel.name if statement.promoter.channel_id else "",
            bank_name=statement.promoter.bank_name,
            bank_account=statement.promoter.bank_account,
            amount=statement.payable_amount,
        )
        for statement in statements
    ]


def payout_headers() -> list[str]:
    return [_("Promoter"), _("Work ID"), _("Channel"), _("Bank"), _("Bank account"), _("Amount")]


def _xlsx(rows: list[PayoutRow], total: Decimal) -> bytes:
    """Text cells for the text (a bank account stays as typed; no cell is ever read as a
    formula), numbers with 2 decimals for the amounts, and a total row."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Payout"))

    def text(value) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=str(value if value is not None else ""))
        cell.data_type = "s"
        return cell

    def money(value: Decimal) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.00"
        return cell

    sheet.append([text(header) for header in payout_headers()])
    for row in rows:
        sheet.append(
            [
                text(row.name),
                text(row.work_id),
                text(row.channel),
                text(row.bank_name),
                text(row.bank_account),
                money(row.amount),
            ]
        )
    sheet.append([text(_("Total")), None, None, None, None, money(total)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def payout_file_build(*, run: SettlementRun, actor, fmt: str) -> ExportFile:
    """The payout file of an approved run in ``fmt`` (``xlsx`` or ``csv``)."""
    if actor is None or not actor.is_authenticated or not actor.has_perm(PAYOUT_PERMISSION):
        raise Forbidden()
    if not runs_visible(user=actor).filter(pk=run.pk).exists():
        raise NotFound()
    if fmt not in FORMATS:
        raise NotFound()
    with transaction.atomic():
        run = (
            SettlementRun.objects.select_for_update(of=("self",))
            .select_related("org")
            .get(pk=run.pk)
        )
        if run.status != SettlementRun.Status.APPROVED:
            raise ApplicationError(
                "run_not_approved",
                _("A payout file is produced only for an approved settlement."),
                status=409,
            )
        rows = payout_rows(run=run)
        total = sum((row.amount for row in rows), ZERO)
        if fmt == "xlsx":
            content = _xlsx(rows, total)
        else:
            content = table_write(
                payout_headers(),
                (
                    [r.name, r.work_id, r.channel, r.bank_name, r.bank_account, str(r.amount)]
                    for r in rows
                ),
                "csv",
            )
        now = timezone.now()
        old = run.payout_generated_at
        SettlementRun.objects.filter(pk=run.pk).update(payout_generated_at=now, updated_at=now)
        audit_event_create(
            actor=actor,
            action="settlement.payout_generated",
            target=run,
            changes={
                "format": fmt,
                "rows": len(rows),
                "total": str(total),
                "payout_generated_at": [old, now],
            },
        )
    return ExportFile(
        content=content,
        content_type=CONTENT_TYPES[fmt],
        filename=f"payout-{run.number}.{fmt}",
    )
