"""Pages of breach investigations (违约调查) and partner inquiries (R2).

Staff open and decide cases and answer inquiries; a partner's users see their own
cases, respond with evidence before the deadline, and raise, reopen or close inquiries.
An object outside the user's scope is 404; a visible one without the permission 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prm.core.attachments import attachment_panel
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.core.pages import query_without_page
from prm.portal.forms_cases import (
    BreachCaseForm,
    BreachDecisionForm,
    BreachResponseForm,
    CaseFilterForm,
    InquiryAnswerForm,
    InquiryFilterForm,
    InquiryForm,
    InquiryReopenForm,
)
from prm.portal.models import BreachCase, Inquiry
from prm.portal.selectors_cases import (
    breach_case_accepts_responses,
    breach_case_decidable,
    breach_case_get,
    breach_case_is_overdue,
    breach_case_list_filtered,
    breach_case_may_view,
    breach_case_partner_choices,
    breach_case_response_deadline,
    breach_response_list,
    inquiry_get,
    inquiry_is_overdue,
    inquiry_list_filtered,
    inquiry_overdue_count,
    inquiry_thread,
)
from prm.portal.services.cases import (
    breach_case_decide,
    breach_case_open,
    breach_response_submit,
    inquiry_answer,
    inquiry_close,
    inquiry_create,
    inquiry_reopen,
)

PAGE_SIZE = 25


def _render_list(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The full page, or only the results for an htmx filter request."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


def _is_case_manager(user) -> bool:
    return not user.is_partner_user and user.has_perm("portal.manage_breachcase")


def _visible_case(request: HttpRequest, number: str) -> BreachCase:
    try:
        case = breach_case_get(user=request.user, number=number)
    except NotFound as exc:
        raise Http404 from exc
    if not breach_case_may_view(request.user):
        raise PermissionDenied
    return case


# Breach investigations -------------------------------------------------------------------


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    if not breach_case_may_view(request.user):
        raise PermissionDenied
    form = CaseFilterForm(request.GET or None)
    filters = form.filters()
    if request.GET.get("awaiting_decision") == "1":
        filters["awaiting_decision"] = True
    cases = breach_case_list_filtered(user=request.user, filters=filters)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "can_open": _is_case_manager(request.user),
        "is_partner": request.user.is_partner_user,
        "awaiting_decision": bool(filters.get("awaiting_decision")),
    }
    return _render_list(request, "portal/cases/list.html", "portal/cases/_table.html", context)


@login_required
def case_create(request: HttpRequest) -> HttpResponse:
    if not _is_case_manager(request.user):
        raise PermissionDenied
    partners = breach_case_partner_choices(user=request.user)
    initial = {"partner": request.GET.get("partner", "")} if request.method == "GET" else None
    form = BreachCaseForm(
        request.POST or None, request.FILES or None, partners=partners, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = breach_case_open(
                actor=request.user,
                partner=data["partner"],
                business=data["business"],
                violation_type=data["violation_type"],
                description=data["description"],
                impact=data["impact"],
                affected_users=data["affected_users"],
                used_marketing_resources=data["used_marketing_resources"],
                evidence=data["evidence"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(
                request,
                _("Breach investigation %(number)s was opened and the partner notified.")
                % {"number": case.number},
            )
            return redirect("portal:case_detail", number=case.number)
    return render(request, "portal/cases/form.html", {"form": form})


def _case_context(request: HttpRequest, case: BreachCase, **forms) -> dict:
    user = request.user
    is_own_partner_user = user.is_partner_user and user.has_perm("portal.view_breachcase")
    accepts = breach_case_accepts_responses(case)
    responses = [
        {
            "response": response,
            "attachments": attachment_panel(owner=response, user=user, purpose="evidence"),
        }
        for response in breach_response_list(case=case)
    ]
    return {
        "case": case,
        "deadline": breach_case_response_deadline(case),
        "is_overdue": breach_case_is_overdue(case),
        "responses": responses,
        "evidence_panel": attachment_panel(owner=case, user=user, purpose="evidence"),
        "can_respond": is_own_partner_user and accepts,
        "responses_closed": is_own_partner_user and not accepts,
        "response_form": forms.get("response_form")
        or (BreachResponseForm() if is_own_partner_user and accepts else None),
        "can_decide": _is_case_manager(user) and breach_case_decidable(case),
        "is_decided": case.status in (BreachCase.Status.UPHELD, BreachCase.Status.NOT_UPHELD),
        "is_manager": _is_case_manager(user),
        "notices": list(case.notices.all()),
    }


@login_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    case = _visible_case(request, number)
    return render(request, "portal/cases/detail.html", _case_context(request, case))


@login_required
@require_POST
def case_respond(request: HttpRequest, number: str) -> HttpResponse:
    case = _visible_case(request, number)
    if not request.user.is_partner_user:
        raise PermissionDenied
    form = BreachResponseForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            breach_response_submit(
                actor=request.user,
                number=case.number,
                body=form.cleaned_data["body"],
                evidence=form.cleaned_data["evidence"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("Your response was submitted."))
            return redirect("portal:case_detail", number=case.number)
    case.refresh_from_db()
    return render(
        request,
        "portal/cases/detail.html",
        _case_context(request, case, response_form=form),
        status=400,
    )


@login_required
def case_decide(request: HttpRequest, number: str) -> HttpResponse:
    case = _visible_case(request, number)
    if not _is_case_manager(request.user):
        raise PermissionDenied
    if case.status in (BreachCase.Status.UPHELD, BreachCase.Status.NOT_UPHELD):
        messages.error(request, _("The case is already decided."))
        return redirect("portal:case_detail", number=case.number)
    form = BreachDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            breach_case_decide(actor=request.user, number=case.number, **form.service_arguments())
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The decision was recorded."))
            return redirect("portal:case_detail", number=case.number)
    return render(
        request,
        "portal/cases/decide.html",
        {
            "case": case,
            "form": form,
            "decidable": breach_case_decidable(case),
            "deadline": breach_case_response_deadline(case),
        },
    )


# Inquiries -------------------------------------------------------------------------------


def _may_view_inquiries(user) -> bool:
    return user.has_perm("portal.view_inquiry") or user.has_perm("portal.answer_inquiry")


def _is_inquiry_handler(user) -> bool:
    return not user.is_partner_user and user.has_perm("portal.answer_inquiry")


def _is_inquirer(user) -> bool:
    return user.is_partner_user and user.has_perm("portal.add_inquiry")


def _visible_inquiry(request: HttpRequest, number: str) -> Inquiry:
    try:
        inquiry = inquiry_get(user=request.user, number=number)
    except NotFound as exc:
        raise Http404 from exc
    if not _may_view_inquiries(request.user):
        raise PermissionDenied
    return inquiry


@login_required
def inquiry_list(request: HttpRequest) -> HttpResponse:
    if not _may_view_inquiries(request.user):
        raise PermissionDenied
    form = InquiryFilterForm(request.GET or None)
    inquiries = inquiry_list_filtered(user=request.user, filters=form.filters())
    page = Paginator(inquiries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "can_create": _is_inquirer(request.user),
        "is_partner": request.user.is_partner_user,
        "overdue_count": inquiry_overdue_count(user=request.user),
        "now": timezone.now(),
    }
    return _render_list(
        request, "portal/inquiries/list.html", "portal/inquiries/_table.html", context
    )


@login_required
def inquiry_new(request: HttpRequest) -> HttpResponse:
    if not _is_inquirer(request.user):
        raise PermissionDenied
    form = InquiryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            inquiry = inquiry_create(
                actor=request.user,
                topic=data["topic"],
                subject=data["subject"],
                body=data["body"],
                attachments=data["attachments"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(
                request,
                _("Inquiry %(number)s was sent. The answer is due by %(due)s.")
                % {
                    "number": inquiry.number,
                    "due": f"{timezone.localtime(inquiry.due_at):%Y-%m-%d %H:%M}",
                },
            )
            return redirect("portal:inquiry_detail", number=inquiry.number)
    return render(request, "portal/inquiries/form.html", {"form": form})


def _inquiry_context(request: HttpRequest, inquiry: Inquiry, **forms) -> dict:
    user = request.user
    is_handler = _is_inquiry_handler(user)
    is_inquirer = _is_inquirer(user)
    is_open = inquiry.status == Inquiry.Status.OPEN
    is_answered = inquiry.status == Inquiry.Status.ANSWERED
    return {
        "inquiry": inquiry,
        "thread": inquiry_thread(inquiry),
        "is_overdue": inquiry_is_overdue(inquiry),
        "attachments": attachment_panel(owner=inquiry, user=user),
        "answer_form": forms.get("answer_form")
        or (InquiryAnswerForm() if is_handler and is_open else None),
        "reopen_form": forms.get("reopen_form")
        or (InquiryReopenForm() if is_inquirer and is_answered else None),
        "can_close": inquiry.status != Inquiry.Status.CLOSED and (is_handler or is_inquirer),
    }


@login_required
def inquiry_detail(request: HttpRequest, number: str) -> HttpResponse:
    inquiry = _visible_inquiry(request, number)
    return render(request, "portal/inquiries/detail.html", _inquiry_context(request, inquiry))


def _inquiry_action(request: HttpRequest, inquiry: Inquiry, form, action, success: str, key: str):
    """Run one inquiry action from a posted form; on a refusal show the page again."""
    if form.is_valid():
        try:
            action(actor=request.user, number=inquiry.number, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, success)
            return redirect("portal:inquiry_detail", number=inquiry.number)
    inquiry.refresh_from_db()
    return render(
        request,
        "portal/inquiries/detail.html",
        _inquiry_context(request, inquiry, **{key: form}),
        status=400,
    )


@login_required
@require_POST
def inquiry_answer_view(request: HttpRequest, number: str) -> HttpResponse:
    inquiry = _visible_inquiry(request, number)
    if not _is_inquiry_handler(request.user):
        raise PermissionDenied
    return _inquiry_action(
        request,
        inquiry,
        InquiryAnswerForm(request.POST),
        inquiry_answer,
        _("The answer was sent to the partner."),
        "answer_form",
    )


@login_required
@require_POST
def inquiry_reopen_view(request: HttpRequest, number: str) -> HttpResponse:
    inquiry = _visible_inquiry(request, number)
    if not _is_inquirer(request.user):
        raise PermissionDenied
    return _inquiry_action(
        request,
        inquiry,
        InquiryReopenForm(request.POST),
        inquiry_reopen,
        _("The inquiry was reopened."),
        "reopen_form",
    )


@login_required
@require_POST
def inquiry_close_view(request: HttpRequest, number: str) -> HttpResponse:
    inquiry = _visible_inquiry(request, number)
    if not (_is_inquirer(request.user) or _is_inquiry_handler(request.user)):
        raise PermissionDenied
    try:
        inquiry_close(actor=request.user, number=inquiry.number)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The inquiry was closed."))
    return redirect("portal:inquiry_detail", number=inquiry.number)
