"""Administration console (R0 4A): org units, users and roles, as real pages.

Every page needs its permission (``view_*`` to read, ``manage_*`` to write; 403
otherwise) and reads through the scoped selectors only, so an object of another city or
partner answers 404. Lists run a constant number of queries whatever their length.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from prm.accounts import selectors
from prm.accounts.forms_console import (
    OrgFilterForm,
    OrgUnitCreateForm,
    OrgUnitEditForm,
    RolePermissionsForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from prm.accounts.services import (
    org_unit_create,
    org_unit_update,
    role_permissions_set,
    user_disable,
    user_enable,
    user_password_reset,
    user_provision,
    user_unlock,
    user_update,
)
from prm.core.exceptions import ApplicationError
from prm.core.forms import form_add_application_error
from prm.core.pages import query_without_page

USER_PAGE_SIZE = 50
ORG_PAGE_SIZE = 200


def console_permission(permission: str):
    """Sign-in required (redirect to the login page), then ``permission`` (403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        @permission_required(permission, raise_exception=True)
        def wrapped(request, *args, **kwargs):
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _render_list(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The full page, or only the results table for an htmx filter request."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


# --- Org units ----------------------------------------------------------------------


@console_permission("accounts.view_orgunit")
def org_list(request: HttpRequest) -> HttpResponse:
    form = OrgFilterForm(request.GET or None)
    orgs = selectors.org_unit_list_filtered(user=request.user, filters=form.filters())
    page = Paginator(orgs, ORG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query_without_page(request)}
    return _render_list(request, "console/org_list.html", "console/_org_table.html", context)


@console_permission("accounts.view_orgunit")
def org_detail(request: HttpRequest, code: str) -> HttpResponse:
    org = selectors.org_unit_get(user=request.user, code=code)
    users = None
    if request.user.has_perm("accounts.view_user"):
        users = selectors.user_list_filtered(
            user=request.user, filters={"org": org.code, "subtree": False}
        )[:USER_PAGE_SIZE]
    context = {
        "org": org,
        "children": selectors.org_unit_children(user=request.user, org=org),
        "users": users,
        "can_manage": request.user.has_perm("accounts.manage_orgunit"),
    }
    return render(request, "console/org_detail.html", context)


@console_permission("accounts.manage_orgunit")
@require_http_methods(["GET", "POST"])
def org_create(request: HttpRequest) -> HttpResponse:
    parents = selectors.org_unit_choices(user=request.user)
    initial = {"parent": request.GET.get("parent")} if request.GET.get("parent") else None
    form = OrgUnitCreateForm(request.POST or None, parents=parents, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            org = org_unit_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(request, _("The org unit %(name)s was created.") % {"name": org.name})
            return redirect("console:org_detail", code=org.code)
    return render(request, "console/org_form.html", {"form": form, "org": None})


@console_permission("accounts.manage_orgunit")
@require_http_methods(["GET", "POST"])
def org_edit(request: HttpRequest, code: str) -> HttpResponse:
    org = selectors.org_unit_get(user=request.user, code=code)
    can_move = org.path != request.user.scope_path
    initial = {"name": org.name, "is_active": org.is_active}
    if can_move and org.parent_id:
        initial["parent"] = org.parent.code
    form = OrgUnitEditForm(
        request.POST or None,
        parents=selectors.org_unit_choices(user=request.user),
        can_move=can_move,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            org = org_unit_update(actor=request.user, org=org, **form.cleaned_data)
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(request, _("The org unit was saved."))
            return redirect("console:org_detail", code=org.code)
    return render(request, "console/org_form.html", {"form": form, "org": org})


# --- Users --------------------------------------------------------------------------


@console_permission("accounts.view_user")
def user_list(request: HttpRequest) -> HttpResponse:
    roles = list(selectors.role_list())
    form = UserFilterForm(request.GET or None, roles=roles)
    users = selectors.user_list_filtered(user=request.user, filters=form.filters())
    page = Paginator(users, USER_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "can_manage": request.user.has_perm("accounts.manage_user"),
    }
    return _render_list(request, "console/user_list.html", "console/_user_table.html", context)


@console_permission("accounts.view_user")
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    target = selectors.user_get(user=request.user, username=username)
    history = selectors.user_audit_history(user=request.user, target=target)[:10]
    context = {
        "target": target,
        "roles": selectors.user_roles(target=target),
        "tokens": selectors.user_api_token_list(user=request.user, target=target),
        "history": history,
        "can_manage": request.user.has_perm("accounts.manage_user"),
        "is_self": target.pk == request.user.pk,
    }
    return render(request, "console/user_detail.html", context)


@console_permission("accounts.manage_user")
@require_http_methods(["GET", "POST"])
@never_cache
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(
        request.POST or None,
        orgs=selectors.org_unit_choices(user=request.user),
        roles=selectors.role_list(),
        initial={"org": request.GET.get("org")} if request.GET.get("org") else None,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            target, password = user_provision(
                actor=request.user,
                username=data["username"],
                display_name=data["display_name"],
                org=data["org"],
                role_codes=[role.code for role in data["roles"]],
                email=data["email"],
                mobile=data["mobile"],
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            return _password_page(request, target, password, created=True)
    return render(request, "console/user_form.html", {"form": form, "target": None})


@console_permission("accounts.manage_user")
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, username: str) -> HttpResponse:
    target = selectors.user_get(user=request.user, username=username)
    initial = {
        "display_name": target.display_name,
        "email": target.email,
        "mobile": target.mobile,
        "org": target.org.code,
        "roles": [role.code for role in selectors.user_roles(target=target)],
    }
    form = UserEditForm(
        request.POST or None,
        orgs=selectors.org_unit_choices(user=request.user),
        roles=selectors.role_list(),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user_update(
                actor=request.user,
                user=target,
                display_name=data["display_name"],
                email=data["email"],
                mobile=data["mobile"],
                org=data["org"],
                role_codes=[role.code for role in data["roles"]],
            )
        except ApplicationError as error:
            form_add_application_error(form, error)
        else:
            messages.success(request, _("The user was saved."))
            return redirect("console:user_detail", username=target.username)
    return render(request, "console/user_form.html", {"form": form, "target": target})


def _password_page(request, target, password: str, *, created: bool) -> HttpResponse:
    response = render(
        request,
        "console/user_password.html",
        {"target": target, "password": password, "created": created},
    )
    # The password is shown once: never cached, never in a URL.
    response["Cache-Control"] = "no-store"
    return response


_USER_ACTIONS = {
    "disable": (user_disable, _("The user was disabled.")),
    "enable": (user_enable, _("The user was enabled.")),
    "unlock": (user_unlock, _("The user was unlocked.")),
}


def _user_action(request: HttpRequest, username: str, action: str) -> HttpResponse:
    target = selectors.user_get(user=request.user, username=username)
    service, done = _USER_ACTIONS[action]
    try:
        service(actor=request.user, user=target)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, str(done))
    return redirect("console:user_detail", username=target.username)


@console_permission("accounts.manage_user")
@require_POST
def user_disable_view(request: HttpRequest, username: str) -> HttpResponse:
    return _user_action(request, username, "disable")


@console_permission("accounts.manage_user")
@require_POST
def user_enable_view(request: HttpRequest, username: str) -> HttpResponse:
    return _user_action(request, username, "enable")


@console_permission("accounts.manage_user")
@require_POST
def user_unlock_view(request: HttpRequest, username: str) -> HttpResponse:
    return _user_action(request, username, "unlock")


@console_permission("accounts.manage_user")
@require_POST
def user_password_reset_view(request: HttpRequest, username: str) -> HttpResponse:
    target = selectors.user_get(user=request.user, username=username)
    try:
        target, password = user_password_reset(actor=request.user, user=target)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("console:user_detail", username=target.username)
    return _password_page(request, target, password, created=False)


# --- Roles --------------------------------------------------------------------------


@console_permission("accounts.view_role")
def role_list(request: HttpRequest) -> HttpResponse:
    return render(request, "console/role_list.html", {"roles": selectors.role_list_with_counts()})


@console_permission("accounts.view_role")
@require_http_methods(["GET", "POST"])
def role_detail(request: HttpRequest, code: str) -> HttpResponse:
    role = selectors.role_get(code=code)
    permissions = list(selectors.permission_choices())
    choices = [(f"{p.content_type.app_label}.{p.codename}", p.name) for p in permissions]
    current = selectors.role_permission_codes(role=role)
    can_manage = request.user.has_perm("accounts.manage_role")
    form = RolePermissionsForm(
        request.POST if request.method == "POST" else None,
        choices=choices,
        initial={"permissions": sorted(current)},
    )
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                role_permissions_set(
                    actor=request.user,
                    role=role,
                    permission_codes=form.cleaned_data["permissions"],
                )
            except ApplicationError as error:
                messages.error(request, str(error.message))
            else:
                messages.success(request, _("The role's permissions were saved."))
                return redirect("console:role_detail", code=role.code)
    groups: dict[str, list] = {}
    for permission, (value, _label) in zip(permissions, choices, strict=True):
        model = permission.content_type.model_class()
        heading = str(model._meta.verbose_name_plural) if model else permission.content_type.model
        groups.setdefault(heading, []).append(
            {"value": value, "name": permission.name, "checked": value in current}
        )
    context = {
        "role": role,
        "groups": groups,
        "form": form,
        "can_manage": can_manage,
        "user_list_url": reverse("console:user_list") + "?" + urlencode({"role": role.code}),
    }
    return render(request, "console/role_detail.html", context)
