"""Attachments (R0): files attached to business objects.

Rules: the type is detected from the bytes (``filetype``), never trusted from the name,
and the name's extension must agree with it; the size is limited
(``PRM_ATTACHMENT_MAX_BYTES``); the SHA-256 is stored; a file is stored under a random
name; it is served only to users who may see the object it belongs to. A refused upload
writes nothing (no row, no file).

An app makes a model an attachment owner once, in its ``AppConfig.ready``::

    attachment_owner_register(
        Partner,
        visible=lambda user: partner_list(user=user),
        upload_permission="partners.change_partner",
    )
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import Attachment

# Detected extension → the content type stored and served.
ALLOWED_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Plain text has no signature: accepted only under these names, when it decodes as text.
TEXT_TYPES: dict[str, str] = {"txt": "text/plain", "csv": "text/csv"}
TEXT_ENCODINGS = ("utf-8", "gb18030")
EXTENSION_ALIASES = {"jpeg": "jpg"}
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in [*ALLOWED_TYPES, "jpeg", *TEXT_TYPES])

_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


@dataclass(frozen=True)
class OwnerRegistration:
    model: type[models.Model]
    visible: Callable[..., QuerySet]
    upload_permission: str | None


_owners: dict[str, OwnerRegistration] = {}


def attachment_owner_register(
    model: type[models.Model],
    *,
    visible: Callable[..., QuerySet],
    upload_permission: str | None = None,
) -> None:
    """Let ``model`` own attachments. ``visible(user)`` returns the owners the user may
    see (the attachments follow it); ``upload_permission`` allows the generic upload page
    (without it, only the owning app's own views upload)."""
    _owners[model._meta.label_lower] = OwnerRegistration(model, visible, upload_permission)


def attachment_owner_registration(owner_type: str) -> OwnerRegistration | None:
    return _owners.get(owner_type)


def _registration_for(model_or_owner) -> OwnerRegistration:
    label = model_or_owner._meta.label_lower
    registration = _owners.get(label)
    if registration is None:
        raise ImproperlyConfigured(f"{label} is not registered as an attachment owner.")
    return registration


def attachment_owner_visible(*, owner: models.Model, user) -> bool:
    """Whether the user may see ``owner`` (and so its attachments)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    registration = _registration_for(owner)
    return registration.visible(user).filter(pk=owner.pk).exists()


def attachment_owner_get(*, owner_type: str, owner_id: str, user) -> models.Model:
    """The owner object by its type label and key, if the user may see it; else not found."""
    registration = _owners.get(owner_type)
    if registration is None or user is None or not getattr(user, "is_authenticated", False):
        raise NotFound()
    try:
        owner = registration.visible(user).filter(pk=owner_id).first()
    except (ValueError, TypeError):
        owner = None
    if owner is None:
        raise NotFound()
    return owner


def attachment_can_upload(*, owner: models.Model, user) -> bool:
    """Whether the generic upload page lets the user attach files to ``owner``."""
    registration = _registration_for(owner)
    return (
        registration.upload_permission is not None
        and user.has_perm(registration.upload_permission)
        and attachment_owner_visible(owner=owner, user=user)
    )


# Reads -----------------------------------------------------------------------------------


def _owner_filter(owner: models.Model) -> dict:
    return {
        "owner_type": ContentType.objects.get_for_model(owner, for_concrete_model=False),
        "owner_id": str(owner.pk),
    }


def attachment_list_for(*, owner: models.Model, user) -> QuerySet[Attachment]:
    """The owner's attachments, newest first; none when the user may not see the owner."""
    if not attachment_owner_visible(owner=owner, user=user):
        return Attachment.objects.none()
    return Attachment.objects.filter(**_owner_filter(owner)).select_related("uploaded_by")


def attachment_get_for_download(*, public_id, user) -> Attachment:
    """The attachment if the user may see its owner; "not found" otherwise, so that the
    existence of a file is not revealed to someone who may not see it."""
    attachment = Attachment.objects.select_related("owner_type").filter(public_id=public_id).first()
    if attachment is None:
        raise NotFound()
    model = attachment.owner_type.model_class()
    registration = _owners.get(model._meta.label_lower) if model is not None else None
    if (
        registration is None
        or user is None
        or not getattr(user, "is_authenticated", False)
        or not registration.visible(user).filter(pk=attachment.owner_id).exists()
    ):
        raise NotFound()
    return attachment


def attachment_panel(*, owner: models.Model, user, purpose: str = "") -> dict:
    """What the attachment partials need (``core/attachments/panel.html``)."""
    label = owner._meta.label_lower
    return {
        "owner": owner,
        "dom_id": f"attachments-{label.replace('.', '-')}-{owner.pk}",
        "attachments": attachment_list_for(owner=owner, user=user),
        "can_upload": attachment_can_upload(owner=owner, user=user),
        "upload_url": reverse(
            "core:attachment_upload", kwargs={"owner_type": label, "owner_id": str(owner.pk)}
        ),
        "purpose": purpose,
        "accept": ACCEPT_ATTRIBUTE,
        "max_bytes": settings.PRM_ATTACHMENT_MAX_BYTES,
    }


# Checks ----------------------------------------------------------------------------------


def attachment_name_clean(name: str) -> str:
    """The uploader's file name made safe to show and to send back in a header:
    no folders, no control or reserved characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_NAME_CHARS.sub("", name).strip().lstrip(".").strip()
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        if dot and len(extension) < 20:
            name = f"{stem[: 254 - len(extension)]}.{extension}"
        else:
            name = name[:255]
    return name


def _extension(name: str) -> str:
    _stem, dot, extension = name.rpartition(".")
    extension = extension.lower() if dot else ""
    return EXTENSION_ALIASES.get(extension, extension)


def _read_limited(uploaded_file, limit: int) -> bytes:
    """At most ``limit + 1`` bytes: enough to tell that a file is too large."""
    if getattr(uploaded_file, "size", None) is not None and uploaded_file.size > limit:
        raise _too_large(limit)
    uploaded_file.seek(0)
    chunks: list[bytes] = []
    total = 0
    for chunk in uploaded_file.chunks():
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
    return b"".join(chunks)


def _too_large(limit: int) -> ApplicationError:
    return ApplicationError(
        "attachment_too_large",
        _("The file is larger than the limit of %(limit)s.") % {"limit": filesizeformat(limit)},
    )


def _decodes_as_text(content: bytes) -> str | None:
    if b"\x00" in content:
        return None
    for encoding in TEXT_ENCODINGS:
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def attachment_type_detect(*, content: bytes, name: str) -> str:
    """The content type of ``content`` detected from its bytes, if allowed and agreeing
    with the extension of ``name``; refuses otherwise (R0 attachments)."""
    extension = _extension(name)
    kind = filetype.guess(content)
    if kind is None:
        if extension in TEXT_TYPES:
            encoding = _decodes_as_text(content)
            if encoding is not None:
                return f"{TEXT_TYPES[extension]}; charset={encoding}"
        raise ApplicationError(
            "attachment_type_not_allowed",
            _("This type of file is not allowed. Allowed: %(types)s.") % {"types": _allowed()},
        )
    detected = EXTENSION_ALIASES.get(kind.extension, kind.extension)
    if detected not in ALLOWED_TYPES:
        raise ApplicationError(
            "attachment_type_not_allowed",
            _("This type of file is not allowed. Allowed: %(types)s.") % {"types": _allowed()},
        )
    if detected != extension:
        raise ApplicationError(
            "attachment_type_mismatch",
            _("The file's content is %(detected)s but its name ends in “.%(extension)s”.")
            % {"detected": detected.upper(), "extension": extension},
        )
    return ALLOWED_TYPES[detected]


def _allowed() -> str:
    return ", ".join(ext.upper() for ext in [*ALLOWED_TYPES, *TEXT_TYPES])


# Writes ----------------------------------------------------------------------------------


def attachment_create(
    *, owner: models.Model, uploaded_file, actor, purpose: str = ""
) -> Attachment:
    """Attach an uploaded file to ``owner`` for ``actor``, who must be able to see it.

    Checks size, detected type and name before anything is written; stores the bytes
    under a random name with their SHA-256, and records ``attachment.created``.
    """
    if not attachment_owner_visible(owner=owner, user=actor):
        raise NotFound()
    name = attachment_name_clean(getattr(uploaded_file, "name", "") or "")
    if not name or not _extension(name):
        raise ApplicationError(
            "attachment_name_invalid", _("The file needs a name with an extension.")
        )
    limit = settings.PRM_ATTACHMENT_MAX_BYTES
    content = _read_limited(uploaded_file, limit)
    if not content:
        raise ApplicationError("attachment_empty", _("The file is empty."))
    content_type = attachment_type_detect(content=content, name=name)
    digest = hashlib.sha256(content).hexdigest()

    attachment = Attachment(
        owner_type=ContentType.objects.get_for_model(owner, for_concrete_model=False),
        owner_id=str(owner.pk),
        purpose=(purpose or "")[:50],
        original_name=name,
        content_type=content_type,
        size=len(content),
        sha256=digest,
        uploaded_by=actor,
    )
    try:
        with transaction.atomic():
            # Saving the model writes the file (under attachment_upload_to's random name).
            attachment.file = ContentFile(content, name=name)
            attachment.save()
            audit_event_create(
                actor=actor,
                action="attachment.created",
                target=attachment,
                changes={
                    "owner": f"{owner._meta.label_lower}:{owner.pk}",
                    "name": name,
                    "content_type": content_type,
                    "size": len(content),
                    "sha256": digest,
                    "purpose": attachment.purpose,
                },
            )
    except Exception:
        # The row did not commit: remove the file it wrote, so a failure leaves nothing.
        if attachment.file and attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment
