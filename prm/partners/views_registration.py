"""Partner self-registration pages (R1): signup, the application (form, documents,
submission, status and trail) and the anonymous progress query."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from prm.accounts.services import auth_login
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.core.middleware import client_ip
from prm.core.navigation import nav_items_for
from prm.core.workflow import workflow_document_context
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.forms_registration import (
    ApplicationForm,
    DocumentForm,
    RegistrationStatusForm,
    SignupForm,
)
from prm.partners.models import Partner
from prm.partners.selectors import partner_of_user
from prm.partners.selectors_registration import (
    REGISTER_PERMISSION,
    application_checklist,
    application_is_editable,
    application_of,
    application_problems,
    application_rejection_reasons,
    registration_status_lookup,
)
from prm.partners.services.registration import (
    applicant_signup,
    application_document_add,
    application_document_remove,
    application_submit,
    application_update,
)
from prm.partners.setup_registration import REGISTRATION_NAV_KEY


def _applicant_nav(request: HttpRequest) -> dict:
    """While registering, the menu holds only "New partner registration" (R1): the page's
    ``nav_items`` replace those of the context processor."""
    partner = partner_of_user(request.user)
    if partner is None or not partner.is_application:
        return {}
    links = nav_items_for(request.user)
    return {"nav_items": [link for link in links if link.key == REGISTRATION_NAV_KEY]}


def _own_application(request: HttpRequest) -> Partner:
    """The signed-in applicant's application: 403 without the permission, 404 without one."""
    if not request.user.has_perm(REGISTER_PERMISSION):
        raise PermissionDenied
    try:
        return application_of(user=request.user)
    except NotFound as exc:
        raise Http404 from exc


@sensitive_post_parameters("password", "password_confirm")
@never_cache
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Create a registering company's account, sign it in, go to the application."""
    if request.user.is_authenticated:
        return redirect("partners:application" if request.user.is_partner_user else "home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            applicant_signup(
                username=data["username"],
                password=data["password"],
                email=data["email"],
                category_code=data["category"].code,
                managing_org_id=data["managing_org"].pk,
                ip_address=client_ip(request),
            )
        except ApplicationError as exc:
            for message in exc.details.get("messages") or [exc.message]:
                form.add_error(
                    exc.details.get("field") if exc.details.get("field") in form.fields else None,
                    message,
                )
        else:
            auth_login(request=request, username=data["username"], password=data["password"])
            messages.success(
                request,
                _(
                    "Your account has been created. Fill in the application and upload "
                    "the documents."
                ),
            )
            return redirect("partners:application")
    return render(request, "partners/registration/register.html", {"form": form})


@login_required
def application(request: HttpRequest) -> HttpResponse:
    """The applicant's application: status, reasons, data, documents, trail, submit."""
    partner = _own_application(request)
    editable = application_is_editable(partner)
    checklist = application_checklist(partner=partner, user=request.user)
    for row in checklist:
        row.form = DocumentForm(prefix=f"doc{row.requirement.pk}")
    workflow = workflow_document_context(
        target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW, user=request.user
    )
    workflow["workflow_actions"] = []  # resubmission goes through this page's own button
    return render(
        request,
        "partners/registration/application.html",
        {
            "partner": partner,
            "editable": editable,
            "checklist": checklist,
            "problems": application_problems(partner=partner) if editable else [],
            "reasons": application_rejection_reasons(partner=partner),
            "profile": [
                (Partner._meta.get_field(name).verbose_name, getattr(partner, name))
                for name in Partner.PROFILE_FIELDS
            ],
            **_applicant_nav(request),
            **workflow,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest) -> HttpResponse:
    partner = _own_application(request)
    if not application_is_editable(partner):
        messages.error(
            request,
            _("The application cannot be changed now (it is %(status)s).")
            % {"status": partner.get_status_display()},
        )
        return redirect("partners:application")
    form = ApplicationForm(request.POST or None, initial=ApplicationForm.initial_for(partner))
    if request.method == "POST" and form.is_valid():
        try:
            application_update(partner_id=partner.pk, actor=request.user, data=form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The application has been saved."))
            return redirect("partners:application")
    return render(
        request,
        "partners/registration/application_form.html",
        {"form": form, "partner": partner, **_applicant_nav(request)},
    )


@login_required
@require_POST
def application_document_upload(request: HttpRequest, requirement_id: int) -> HttpResponse:
    partner = _own_application(request)
    form = DocumentForm(request.POST, request.FILES, prefix=f"doc{requirement_id}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("partners:application")
    try:
        application_document_add(
            partner_id=partner.pk,
            actor=request.user,
            requirement_id=requirement_id,
            uploaded_file=form.cleaned_data["file"],
            number=form.cleaned_data["number"],
            expires_on=form.cleaned_data["expires_on"],
        )
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The document has been uploaded."))
    return redirect("partners:application")


@login_required
@require_POST
def application_document_delete(request: HttpRequest, qualification_id: int) -> HttpResponse:
    partner = _own_application(request)
    try:
        application_document_remove(
            partner_id=partner.pk, actor=request.user, qualification_id=qualification_id
        )
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The document has been removed."))
    return redirect("partners:application")


@login_required
@require_POST
def application_send(request: HttpRequest) -> HttpResponse:
    partner = _own_application(request)
    try:
        application_submit(partner_id=partner.pk, actor=request.user)
    except ApplicationError as exc:
        problems = exc.details.get("problems")
        if problems:
            messages.error(request, _("The application cannot be submitted yet."))
            for problem in problems:
                messages.error(request, problem["message"])
        else:
            messages.error(request, exc.message)
    else:
        messages.success(request, _("The application has been submitted for review."))
    return redirect("partners:application")


@never_cache
@require_http_methods(["GET", "POST"])
def registration_status(request: HttpRequest) -> HttpResponse:
    """Anonymous progress query (R1): company name + admin account + admin e-mail.

    POST keeps the e-mail out of addresses and logs; the API offers the same query.
    """
    form = RegistrationStatusForm(request.POST or None)
    result = error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            result = registration_status_lookup(
                company_name=form.cleaned_data["company_name"],
                admin_username=form.cleaned_data["admin_username"],
                admin_email=form.cleaned_data["admin_email"],
                client_ip=client_ip(request),
            )
        except ApplicationError as exc:
            error, status = exc.message, exc.status
    context = {"form": form, "result": result, "error": error, **_applicant_nav(request)}
    return render(request, "partners/registration/status.html", context, status=status)
