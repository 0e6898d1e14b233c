"""The call-centre assist page (R4): an agent types the calling subscriber's number and
sees the account state, subscribed products and the recommendable products ranked from
the number's usage (the rule is on the page), and sends a recommendation SMS or records
the recommendation with one click (htmx: the answer replaces the product's action cell).

Needs ``incentives.use_assist`` (operator staff); recording needs the agent's own
call-centre promoter record.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from prm.core.exceptions import ApplicationError
from prm.incentives.selectors import promoter_of_user
from prm.incentives.selectors_assist import (
    KIND_ORDER_LOW_VOICE,
    KIND_ORDER_VOICE_HEAVY,
    VOICE_HEAVY_CALLS,
    assist_lookup,
    assist_may_use,
)
from prm.incentives.services.assist import assist_recommend, assist_sms_send


def _check(request: HttpRequest) -> None:
    if not assist_may_use(request.user):
        raise PermissionDenied


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _rule_context() -> dict:
    return {
        "voice_heavy_calls": VOICE_HEAVY_CALLS,
        "order_voice_heavy": [kind.label for kind in KIND_ORDER_VOICE_HEAVY],
        "order_low_voice": [kind.label for kind in KIND_ORDER_LOW_VOICE],
    }


@login_required
@require_GET
def assist(request: HttpRequest) -> HttpResponse:
    _check(request)
    number = (request.GET.get("msisdn") or "").strip()
    context = {
        "number": number,
        "result": None,
        "error": None,
        "may_record": promoter_of_user(user=request.user) is not None,
        **_rule_context(),
    }
    status = 200
    if number:
        try:
            context["result"] = assist_lookup(user=request.user, msisdn=number)
        except ApplicationError as exc:
            if exc.status == 403:
                raise PermissionDenied from exc
            context["error"] = str(exc.message)
            status = 400
    if _is_htmx(request) and not request.htmx.boosted:
        # htmx swaps only 2xx answers: the error is shown in the result area.
        return render(request, "incentives/assist/_result.html", context)
    return render(request, "incentives/assist/page.html", context, status=status)


def _action(request: HttpRequest, msisdn: str, *, send_sms: bool) -> HttpResponse:
    _check(request)
    product_code = (request.POST.get("product_code") or "").strip()
    ok, text = True, ""
    try:
        if send_sms:
            assist_sms_send(actor=request.user, msisdn=msisdn, product_code=product_code)
            text = _("Recommendation SMS sent.")
        else:
            recommendation = assist_recommend(
                actor=request.user, msisdn=msisdn, product_code=product_code
            )
            text = _("Recorded as %(number)s; the subscriber was asked to confirm by SMS.") % {
                "number": recommendation.number
            }
    except ApplicationError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied from exc
        ok, text = False, str(exc.message)
    if _is_htmx(request):
        # htmx swaps only 2xx answers: a refusal is an alert in the product's row.
        return render(request, "incentives/assist/_action_result.html", {"ok": ok, "text": text})
    (messages.success if ok else messages.error)(request, text)
    return redirect(f"{reverse('incentives:assist')}?{urlencode({'msisdn': msisdn})}")


@login_required
@require_POST
def assist_sms(request: HttpRequest, msisdn: str) -> HttpResponse:
    return _action(request, msisdn, send_sms=True)


@login_required
@require_POST
def assist_record(request: HttpRequest, msisdn: str) -> HttpResponse:
    return _action(request, msisdn, send_sms=False)
