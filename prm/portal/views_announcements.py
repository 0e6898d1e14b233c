"""Pages of announcements, public notices and the knowledge base (R2).

Each view parses input, checks the permission, calls one selector or service and
renders. Objects outside the user's scope (another org's, another partner's, an
announcement not addressed to the partner) answer 404; a missing permission 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from prm.accounts.models import OrgUnit
from prm.accounts.selectors import org_unit_list
from prm.core.attachments import attachment_panel
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.core.pages import query_without_page
from prm.partners.models import Partner
from prm.partners.selectors import partner_categories
from prm.portal.forms_announcements import (
    AnnouncementFilterForm,
    AnnouncementForm,
    KnowledgeArticleForm,
    KnowledgeFilterForm,
    NoticeFilterForm,
    NoticeForm,
    ReplyForm,
    ReviewNoteForm,
)
from prm.portal.models import Announcement, KnowledgeArticle
from prm.portal.selectors_announcements import (
    announcement_get_for,
    announcement_list_filter,
    announcement_list_with_counts,
    announcement_receipt_of,
    announcement_replies_of,
    announcement_statistics,
    announcements_for_partner,
    announcements_for_staff,
    audience_partner,
    knowledge_article_get_for,
    knowledge_article_list_filter,
    knowledge_articles_visible,
    knowledge_review_queue,
    notice_partner_choices,
    public_notice_get_for,
    public_notice_list_filter,
    public_notices_visible,
)
from prm.portal.services.announcements import (
    announcement_acknowledge,
    announcement_attachment_add,
    announcement_create,
    announcement_mark_read,
    announcement_publish,
    announcement_reply_create,
    announcement_update,
    announcement_withdraw,
)
from prm.portal.services.knowledge import (
    EDITABLE,
    knowledge_article_approve,
    knowledge_article_archive,
    knowledge_article_attachment_add,
    knowledge_article_create,
    knowledge_article_recall,
    knowledge_article_reject,
    knowledge_article_submit,
    knowledge_article_update,
)
from prm.portal.services.notices import public_notice_publish

PAGE_SIZE = 30
VIEW_ANNOUNCEMENT = "portal.view_announcement"
PUBLISH_ANNOUNCEMENT = "portal.publish_announcement"
VIEW_NOTICE = "portal.view_publicnotice"
VIEW_KNOWLEDGE = "portal.view_knowledgearticle"
WRITE_KNOWLEDGE = "portal.write_knowledgearticle"
REVIEW_KNOWLEDGE = "portal.review_knowledgearticle"


def _permission(permission: str, *, staff_only: bool = False):
    """Sign-in required (redirect to the login page), then ``permission`` (403);
    ``staff_only`` pages refuse partner users (403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied
            if staff_only and request.user.is_partner_user:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _found(getter: Callable, **kwargs):
    try:
        return getter(**kwargs)
    except NotFound as exc:
        raise Http404 from exc


def _act(request: HttpRequest, service: Callable, **kwargs):
    """Run a service for the user; a refusal becomes a flash message (404 and 403 stay
    what they are). Returns the service's result, or ``None`` when refused."""
    try:
        return service(actor=request.user, **kwargs)
    except NotFound as exc:
        raise Http404 from exc
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        messages.error(request, str(exc.message))
        return None


def _render_list(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The full page, or only the results for an htmx filter request."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


def _upload(request: HttpRequest, *, owner, service: Callable, detail_url: str, **kwargs):
    """Attach the uploaded ``file`` through ``service``; answer like the core upload
    page (the attachment panel for htmx, a redirect otherwise)."""
    uploaded = request.FILES.get("file")
    error = None
    if uploaded is None:
        error = _("Choose a file to upload.")
    else:
        try:
            service(actor=request.user, uploaded_file=uploaded, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except ApplicationError as exc:
            if exc.status == 403:
                raise PermissionDenied from exc
            error = str(exc.message)
    if request.htmx:
        panel = attachment_panel(owner=owner, user=request.user)
        panel.update(can_upload=True, upload_url=request.path)
        return render(
            request,
            "core/attachments/panel.html",
            {"attachment_panel": panel, "attachment_error": error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The file was attached."))
    return redirect(detail_url)


def _panel(request: HttpRequest, *, owner, can_upload: bool, upload_url: str) -> dict:
    panel = attachment_panel(owner=owner, user=request.user)
    panel.update(can_upload=can_upload, upload_url=upload_url)
    return panel


# Announcements ---------------------------------------------------------------------------


def _staff_orgs(user):
    return org_unit_list(user=user).filter(kind__in=OrgUnit.OPERATOR_KINDS, is_active=True)


@_permission(VIEW_ANNOUNCEMENT)
@require_GET
def announcement_list(request: HttpRequest) -> HttpResponse:
    """Partners: the announcements addressed to them, unread first. Staff: those of
    their subtree, with how many partners read and replied."""
    user = request.user
    is_partner = user.is_partner_user
    form = AnnouncementFilterForm(request.GET or None, with_status=not is_partner)
    if is_partner:
        partner = audience_partner(user)
        announcements = (
            announcements_for_partner(partner=partner)
            if partner is not None
            else Announcement.objects.none()
        )
        unread = announcements.filter(is_read=False).count() if partner is not None else 0
    else:
        announcements = announcement_list_with_counts(announcements_for_staff(user=user))
        unread = 0
    announcements = announcement_list_filter(announcements, filters=form.filters())
    page = Paginator(announcements, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "is_partner": is_partner,
        "unread_announcements": unread,
        "can_create": not is_partner and user.has_perm(PUBLISH_ANNOUNCEMENT),
    }
    return _render_list(
        request,
        "portal/announcements/list.html",
        "portal/announcements/_table.html",
        context,
    )


def _announcement_form_kwargs(request: HttpRequest) -> dict:
    return {"orgs": _staff_orgs(request.user), "categories": partner_categories()}


@_permission(PUBLISH_ANNOUNCEMENT, staff_only=True)
@require_http_methods(["GET", "POST"])
def announcement_create_view(request: HttpRequest) -> HttpResponse:
    form = AnnouncementForm(
        request.POST or None,
        initial={"org": request.user.org.code},
        **_announcement_form_kwargs(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            announcement = announcement_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The draft announcement was saved."))
            return redirect("portal:announcement_detail", pk=announcement.pk)
    return render(request, "portal/announcements/form.html", {"form": form, "announcement": None})


@_permission(PUBLISH_ANNOUNCEMENT, staff_only=True)
@require_http_methods(["GET", "POST"])
def announcement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = _found(announcement_get_for, user=request.user, pk=pk)
    if announcement.status != Announcement.Status.DRAFT:
        messages.error(request, _("Only a draft announcement can be changed."))
        return redirect("portal:announcement_detail", pk=pk)
    initial = {
        "title": announcement.title,
        "body": announcement.body,
        "org": announcement.org.code,
        "audience_all": announcement.audience_all,
        "audience_categories": [c.code for c in announcement.audience_categories.all()],
        "audience_tiers": announcement.audience_tiers,
        "audience_regions": [r.code for r in announcement.audience_regions.all()],
        "publish_from": announcement.publish_from,
        "publish_until": announcement.publish_until,
        "requires_ack": announcement.requires_ack,
    }
    form = AnnouncementForm(
        request.POST or None, initial=initial, **_announcement_form_kwargs(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            announcement_update(
                actor=request.user, announcement_id=announcement.pk, **form.cleaned_data
            )
        except NotFound as exc:
            raise Http404 from exc
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The draft announcement was saved."))
            return redirect("portal:announcement_detail", pk=pk)
    return render(
        request,
        "portal/announcements/form.html",
        {"form": form, "announcement": announcement},
    )


@_permission(VIEW_ANNOUNCEMENT)
@require_GET
def announcement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Partners: opening it records that their partner read it. Staff: the text, the
    audience and the actions."""
    user = request.user
    announcement = _found(announcement_get_for, user=user, pk=pk)
    context = {"announcement": announcement, "is_partner": user.is_partner_user}
    if user.is_partner_user:
        partner = audience_partner(user)
        _act(request, announcement_mark_read, announcement_id=announcement.pk)
        context.update(
            receipt=announcement_receipt_of(announcement=announcement, partner=partner),
            replies=announcement_replies_of(announcement=announcement, partner=partner),
            reply_form=ReplyForm(),
            attachment_panel=_panel(request, owner=announcement, can_upload=False, upload_url=""),
        )
    else:
        can_publish = user.has_perm(PUBLISH_ANNOUNCEMENT)
        is_draft = announcement.status == Announcement.Status.DRAFT
        context.update(
            can_edit=can_publish and is_draft,
            can_publish=can_publish and is_draft,
            can_withdraw=can_publish and announcement.status == Announcement.Status.PUBLISHED,
            categories=list(announcement.audience_categories.all()),
            regions=list(announcement.audience_regions.all()),
            tiers=[
                label
                for value, label in Partner.Tier.choices
                if value in (announcement.audience_tiers or [])
            ],
            attachment_panel=_panel(
                request,
                owner=announcement,
                can_upload=can_publish and is_draft,
                upload_url=reverse("portal:announcement_attachment", args=[announcement.pk]),
            ),
        )
    return render(request, "portal/announcements/detail.html", context)


@_permission(PUBLISH_ANNOUNCEMENT, staff_only=True)
@require_POST
def announcement_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    if _act(request, announcement_publish, announcement_id=pk) is not None:
        messages.success(request, _("The announcement was published."))
    return redirect("portal:announcement_detail", pk=pk)


@_permission(PUBLISH_ANNOUNCEMENT, staff_only=True)
@require_POST
def announcement_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    if _act(request, announcement_withdraw, announcement_id=pk) is not None:
        messages.success(request, _("The announcement was withdrawn."))
    return redirect("portal:announcement_detail", pk=pk)


@_permission(PUBLISH_ANNOUNCEMENT, staff_only=True)
@require_POST
def announcement_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = _found(announcement_get_for, user=request.user, pk=pk)
    return _upload(
        request,
        owner=announcement,
        service=announcement_attachment_add,
        detail_url=reverse("portal:announcement_detail", args=[pk]),
        announcement_id=pk,
    )


@_permission(VIEW_ANNOUNCEMENT)
@require_POST
def announcement_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    if _act(request, announcement_acknowledge, announcement_id=pk) is not None:
        messages.success(request, _("Your acknowledgement was recorded."))
    return redirect("portal:announcement_detail", pk=pk)


@_permission(VIEW_ANNOUNCEMENT)
@require_POST
def announcement_reply(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a reply of at most 5000 characters."))
    elif (
        _act(request, announcement_reply_create, announcement_id=pk, body=form.cleaned_data["body"])
        is not None
    ):
        messages.success(request, _("Your reply was sent."))
    return redirect("portal:announcement_detail", pk=pk)


@_permission(VIEW_ANNOUNCEMENT, staff_only=True)
@require_GET
def announcement_statistics_view(request: HttpRequest, pk: int) -> HttpResponse:
    announcement = _found(announcement_get_for, user=request.user, pk=pk)
    return render(
        request,
        "portal/announcements/statistics.html",
        {
            "announcement": announcement,
            "stats": announcement_statistics(announcement=announcement),
        },
    )


# Public notices --------------------------------------------------------------------------


@_permission(VIEW_NOTICE)
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    form = NoticeFilterForm(request.GET or None)
    notices = public_notice_list_filter(
        public_notices_visible(user=request.user), filters=form.filters()
    )
    page = Paginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "is_partner": request.user.is_partner_user,
        "can_create": not request.user.is_partner_user
        and request.user.has_perm(PUBLISH_ANNOUNCEMENT),
    }
    return _render_list(request, "portal/notices/list.html", "portal/notices/_table.html", context)


@_permission(VIEW_NOTICE)
@require_GET
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _found(public_notice_get_for, user=request.user, pk=pk)
    return render(
        request,
        "portal/notices/detail.html",
        {"notice": notice, "is_partner": request.user.is_partner_user},
    )


@_permission(PUBLISH_ANNOUNCEMENT, staff_only=True)
@require_http_methods(["GET", "POST"])
def notice_create(request: HttpRequest) -> HttpResponse:
    form = NoticeForm(request.POST or None, partners=notice_partner_choices(user=request.user))
    if request.method == "POST" and form.is_valid():
        try:
            notice = public_notice_publish(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The notice was published."))
            return redirect("portal:notice_detail", pk=notice.pk)
    return render(request, "portal/notices/form.html", {"form": form})


# Knowledge base --------------------------------------------------------------------------

KNOWLEDGE_TABS = ("published", "mine", "review")


@_permission(VIEW_KNOWLEDGE)
@require_GET
def knowledge_list(request: HttpRequest) -> HttpResponse:
    """Search the knowledge base; staff also find their own articles ("mine") and,
    reviewers, the articles waiting for their review."""
    user = request.user
    form = KnowledgeFilterForm(request.GET or None)
    tabs = ["published"]
    if not user.is_partner_user and user.has_perm(WRITE_KNOWLEDGE):
        tabs.append("mine")
    if not user.is_partner_user and user.has_perm(REVIEW_KNOWLEDGE):
        tabs.append("review")
    tab = request.GET.get("tab", "published")
    if tab not in tabs:
        tab = "published"
    filters = form.filters()
    if tab == "mine":
        articles = knowledge_articles_visible(user=user)
        filters["author"] = user
    elif tab == "review":
        articles = knowledge_review_queue(user=user)
    else:
        articles = knowledge_articles_visible(user=user)
        filters["status"] = KnowledgeArticle.Status.PUBLISHED
    articles = knowledge_article_list_filter(articles, filters=filters)
    page = Paginator(articles, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("tab", None)
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "search_query": params.urlencode(),
        "tab": tab,
        "tabs": tabs,
        "review_count": knowledge_review_queue(user=user).count() if "review" in tabs else 0,
        "can_create": "mine" in tabs,
    }
    return _render_list(
        request, "portal/knowledge/list.html", "portal/knowledge/_table.html", context
    )


@_permission(WRITE_KNOWLEDGE, staff_only=True)
@require_http_methods(["GET", "POST"])
def knowledge_create(request: HttpRequest) -> HttpResponse:
    form = KnowledgeArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            article = knowledge_article_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The draft article was saved."))
            return redirect("portal:knowledge_detail", pk=article.pk)
    return render(request, "portal/knowledge/form.html", {"form": form, "article": None})


@_permission(VIEW_KNOWLEDGE)
@require_GET
def knowledge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    article = _found(knowledge_article_get_for, user=user, pk=pk)
    is_staff = not user.is_partner_user
    is_author = is_staff and article.author_id == user.pk and user.has_perm(WRITE_KNOWLEDGE)
    may_review = (
        is_staff
        and user.has_perm(REVIEW_KNOWLEDGE)
        and article.org.path.startswith(user.scope_path)
    )
    status = article.status
    context = {
        "article": article,
        "is_partner": user.is_partner_user,
        "can_edit": is_author and status in EDITABLE,
        "can_submit": is_author and status in EDITABLE,
        "can_recall": is_author and status == KnowledgeArticle.Status.IN_REVIEW,
        "can_review": may_review
        and article.author_id != user.pk
        and status == KnowledgeArticle.Status.IN_REVIEW,
        "is_own_in_review": is_author and status == KnowledgeArticle.Status.IN_REVIEW,
        "can_archive": (is_author or may_review) and status == KnowledgeArticle.Status.PUBLISHED,
        "review_form": ReviewNoteForm(),
        "tags": [tag.strip() for tag in article.tags.split(",") if tag.strip()],
        "attachment_panel": _panel(
            request,
            owner=article,
            can_upload=is_author and status in EDITABLE,
            upload_url=reverse("portal:knowledge_attachment", args=[article.pk]),
        ),
    }
    return render(request, "portal/knowledge/detail.html", context)


@_permission(WRITE_KNOWLEDGE, staff_only=True)
@require_http_methods(["GET", "POST"])
def knowledge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = _found(knowledge_article_get_for, user=request.user, pk=pk)
    if article.author_id != request.user.pk:
        raise PermissionDenied
    if article.status not in EDITABLE:
        messages.error(request, _("Only a draft or a returned article can be changed."))
        return redirect("portal:knowledge_detail", pk=pk)
    initial = {
        name: getattr(article, name)
        for name in ("title", "category", "summary", "body", "tags", "audience_partners")
    }
    form = KnowledgeArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            knowledge_article_update(actor=request.user, article_id=pk, **form.cleaned_data)
        except NotFound as exc:
            raise Http404 from exc
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The article was saved."))
            return redirect("portal:knowledge_detail", pk=pk)
    return render(request, "portal/knowledge/form.html", {"form": form, "article": article})


@_permission(WRITE_KNOWLEDGE, staff_only=True)
@require_POST
def knowledge_submit(request: HttpRequest, pk: int) -> HttpResponse:
    if _act(request, knowledge_article_submit, article_id=pk) is not None:
        messages.success(request, _("The article was sent for review."))
    return redirect("portal:knowledge_detail", pk=pk)


@_permission(WRITE_KNOWLEDGE, staff_only=True)
@require_POST
def knowledge_recall(request: HttpRequest, pk: int) -> HttpResponse:
    if _act(request, knowledge_article_recall, article_id=pk) is not None:
        messages.success(request, _("The article is a draft again."))
    return redirect("portal:knowledge_detail", pk=pk)


@_permission(REVIEW_KNOWLEDGE, staff_only=True)
@require_POST
def knowledge_approve(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")[:2000]
    if _act(request, knowledge_article_approve, article_id=pk, note=note) is not None:
        messages.success(request, _("The article was published."))
    return redirect("portal:knowledge_detail", pk=pk)


@_permission(REVIEW_KNOWLEDGE, staff_only=True)
@require_POST
def knowledge_reject(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")[:2000]
    if _act(request, knowledge_article_reject, article_id=pk, note=note) is not None:
        messages.success(request, _("The article was returned to its author."))
    return redirect("portal:knowledge_detail", pk=pk)


@login_required
@require_POST
def knowledge_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """The author or a reviewer archives a published article (the service decides)."""
    user = request.user
    if user.is_partner_user or not (
        user.has_perm(WRITE_KNOWLEDGE) or user.has_perm(REVIEW_KNOWLEDGE)
    ):
        raise PermissionDenied
    if _act(request, knowledge_article_archive, article_id=pk) is not None:
        messages.success(request, _("The article was archived."))
    return redirect("portal:knowledge_detail", pk=pk)


@_permission(WRITE_KNOWLEDGE, staff_only=True)
@require_POST
def knowledge_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    article = _found(knowledge_article_get_for, user=request.user, pk=pk)
    return _upload(
        request,
        owner=article,
        service=knowledge_article_attachment_add,
        detail_url=reverse("portal:knowledge_detail", args=[pk]),
        article_id=pk,
    )
