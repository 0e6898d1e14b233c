"""Operator account request pages: list, new request, detail (trail + actions), edit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from prm.accounts.forms_requests import AccountRequestForm
from prm.accounts.models import AccountRequest
from prm.accounts.roles import ROLE_BY_CODE
from prm.accounts.selectors import account_request_get, account_request_list
from prm.accounts.services.requests import (
    ACCOUNT_REQUEST_WORKFLOW,
    account_request_create,
    account_request_resubmit,
)
from prm.core.exceptions import ApplicationError
from prm.core.forms import form_add_application_error
from prm.core.workflow import workflow_document_context, workflow_holds_task


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("accounts.view_accountrequest"):
        raise PermissionDenied
    requests = account_request_list(user=request.user)
    status = request.GET.get("status", "")
    if status in AccountRequest.Status.values:
        requests = requests.filter(status=status)
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/requests/list.html",
        {
            "page": page,
            "status": status,
            "statuses": AccountRequest.Status.choices,
            "can_create": request.user.has_perm("accounts.request_account"),
        },
    )


@login_required
def request_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("accounts.request_account"):
        raise PermissionDenied
    form = AccountRequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account_request = account_request_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The request has been submitted for approval."))
            return redirect("accounts:request_detail", code=account_request.code)
    return render(request, "accounts/requests/form.html", {"form": form, "account_request": None})


def _visible_request(request: HttpRequest, code: str) -> AccountRequest:
    account_request = account_request_get(user=request.user, code=code)
    if account_request is None:
        raise Http404
    return account_request


@login_required
def request_detail(request: HttpRequest, code: str) -> HttpResponse:
    account_request = _visible_request(request, code)
    workflow = workflow_document_context(
        target=account_request, definition_code=ACCOUNT_REQUEST_WORKFLOW, user=request.user
    )
    is_party = account_request.requested_by_id == request.user.pk or workflow_holds_task(
        instance=workflow["workflow_instance"], user=request.user
    )
    if not is_party and not request.user.has_perm("accounts.view_accountrequest"):
        raise PermissionDenied
    roles = [
        ROLE_BY_CODE[code].name if code in ROLE_BY_CODE else code
        for code in account_request.role_codes
    ]
    return render(
        request,
        "accounts/requests/detail.html",
        {
            "account_request": account_request,
            "roles": roles,
            "can_edit": account_request.requested_by_id == request.user.pk
            and account_request.status == AccountRequest.Status.REJECTED,
            **workflow,
        },
    )


@login_required
def request_edit(request: HttpRequest, code: str) -> HttpResponse:
    """The requester corrects a rejected request and resubmits it."""
    account_request = _visible_request(request, code)
    if account_request.requested_by_id != request.user.pk or not request.user.has_perm(
        "accounts.request_account"
    ):
        raise PermissionDenied
    if account_request.status != AccountRequest.Status.REJECTED:
        messages.error(request, _("Only a rejected request can be changed and resubmitted."))
        return redirect("accounts:request_detail", code=code)
    initial = {
        "username": account_request.username,
        "display_name": account_request.display_name,
        "email": account_request.email,
        "mobile": account_request.mobile,
        "org": account_request.org,
        "role_codes": account_request.role_codes,
        "reason": account_request.reason,
    }
    form = AccountRequestForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            account_request_resubmit(actor=request.user, code=code, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The request has been resubmitted for approval."))
            return redirect("accounts:request_detail", code=code)
    return render(
        request,
        "accounts/requests/form.html",
        {"form": form, "account_request": account_request},
    )
