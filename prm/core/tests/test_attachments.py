"""Attachments (R0): type by content, size limit, SHA-256, download only for those who may
see the owning object; a refused upload writes nothing."""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
import zipfile
import zlib

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from prm.accounts.models import OrgUnit
from prm.accounts.selectors import org_unit_list
from prm.core import attachments as attachments_module
from prm.core.attachments import (
    attachment_create,
    attachment_list_for,
    attachment_name_clean,
    attachment_owner_register,
)
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import Attachment, AuditEvent

pytestmark = pytest.mark.django_db

MAX_BYTES = 64 * 1024


def pdf_bytes(size: int = 0) -> bytes:
    content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    return content + b"%" * max(0, size - len(content))


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Partner"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "x")
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.fixture(autouse=True)
def media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    settings.PRM_ATTACHMENT_MAX_BYTES = MAX_BYTES
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed
    # Register the test owner in a private copy of the registry.
    monkeypatch.setattr(attachments_module, "_owners", dict(attachments_module._owners))
    attachment_owner_register(
        OrgUnit,
        visible=lambda user: org_unit_list(user=user),
        upload_permission="accounts.manage_orgunit",
    )
    return tmp_path


@pytest.fixture
def uploader(orgs, make_user):
    return make_user(org=orgs.city_a, roles=("system_admin",))


def audit_count() -> int:
    return AuditEvent.objects.filter(action="attachment.created").count()


# Service ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "name", "content", "content_type"),
    [
        ("pdf", "licence.pdf", pdf_bytes(), "application/pdf"),
        ("png", "photo.PNG", png_bytes(), "image/png"),
        (
            "xlsx",
            "sites.xlsx",
            xlsx_bytes(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "docx",
            "contract.docx",
            docx_bytes(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("utf-8 csv", "list.csv", "名称,金额\n甲,1.00\n".encode(), "text/csv; charset=utf-8"),
        ("gb18030 txt", "note.txt", "合作伙伴".encode("gb18030"), "text/plain; charset=gb18030"),
        ("exactly the limit", "limit.pdf", pdf_bytes(MAX_BYTES), "application/pdf"),
    ],
)
def test_valid_upload_is_stored_with_size_sha256_and_detected_type(
    orgs, uploader, media, _case, name, content, content_type
):
    attachment = attachment_create(
        owner=orgs.city_a, uploaded_file=upload(name, content), actor=uploader, purpose="evidence"
    )

    attachment.refresh_from_db()
    assert attachment.original_name == name
    assert attachment.content_type == content_type
    assert attachment.size == len(content)
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.purpose == "evidence"
    assert attachment.uploaded_by == uploader
    assert attachment.owner == orgs.city_a
    assert name not in attachment.file.name  # stored under a random name
    assert [path.read_bytes() for path in stored_files(media)] == [content]
    event = AuditEvent.objects.get(action="attachment.created")
    assert event.target_id == str(attachment.pk)
    assert event.changes["sha256"] == attachment.sha256


@pytest.mark.parametrize(
    ("_case", "name", "content", "code"),
    [
        ("oversized", "big.pdf", pdf_bytes(MAX_BYTES + 1), "attachment_too_large"),
        (
            "disguised exe",
            "invoice.pdf",
            b"MZ\x90\x00" + b"\x00" * 200,
            "attachment_type_not_allowed",
        ),
        ("png named pdf", "scan.pdf", png_bytes(), "attachment_type_mismatch"),
        ("pdf named png", "scan.png", pdf_bytes(), "attachment_type_mismatch"),
        ("empty", "empty.pdf", b"", "attachment_empty"),
        ("zip named docx", "report.docx", zip_bytes(), "attachment_type_not_allowed"),
        ("text named pdf", "readme.pdf", b"just text", "attachment_type_not_allowed"),
        ("binary named txt", "data.txt", b"abc\x00def", "attachment_type_not_allowed"),
        ("html page", "page.html", b"<html>", "attachment_type_not_allowed"),
        ("no extension", "README", b"text", "attachment_name_invalid"),
    ],
)
def test_bad_upload_is_refused_and_nothing_is_written(
    orgs, uploader, media, _case, name, content, code
):
    before = audit_count()

    with pytest.raises(ApplicationError) as refused:
        attachment_create(owner=orgs.city_a, uploaded_file=upload(name, content), actor=uploader)

    assert refused.value.code == code
    assert str(refused.value.message)
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []
    assert audit_count() == before


def test_upload_to_an_owner_the_actor_cannot_see_is_not_found_and_writes_nothing(
    orgs, make_user, media
):
    other_city = make_user(org=orgs.city_b, roles=("system_admin",))

    with pytest.raises(NotFound):
        attachment_create(
            owner=orgs.city_a, uploaded_file=upload("a.pdf", pdf_bytes()), actor=other_city
        )

    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


def test_a_failure_after_the_file_was_written_removes_it(orgs, uploader, media, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(attachments_module, "audit_event_create", broken_audit)

    with pytest.raises(RuntimeError):
        attachment_create(
            owner=orgs.city_a, uploaded_file=upload("a.pdf", pdf_bytes()), actor=uploader
        )

    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("_case", "raw", "clean"),
    [
        ("folders removed", "../../etc/passwd.pdf", "passwd.pdf"),
        ("windows folders removed", "C:\\Users\\a\\合同.pdf", "合同.pdf"),
        ("control characters removed", "a\x00b\r\n.pdf", "ab.pdf"),
        ("leading dots removed", "...hidden.pdf", "hidden.pdf"),
        ("long name keeps extension", "x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_original_name_is_sanitised(_case, raw, clean):
    assert attachment_name_clean(raw) == clean


def test_list_is_empty_for_a_user_who_cannot_see_the_owner(orgs, uploader, make_user):
    attachment_create(owner=orgs.city_a, uploaded_file=upload("a.pdf", pdf_bytes()), actor=uploader)
    county_user = make_user(org=orgs.county_a)
    other_city = make_user(org=orgs.city_b)

    assert attachment_list_for(owner=orgs.city_a, user=uploader).count() == 1
    assert attachment_list_for(owner=orgs.city_a, user=county_user).count() == 0
    assert attachment_list_for(owner=orgs.city_a, user=other_city).count() == 0


# Download --------------------------------------------------------------------------------


@pytest.fixture
def stored_pdf(orgs, uploader):
    return attachment_create(
        owner=orgs.city_a, uploaded_file=upload("营业执照.pdf", pdf_bytes()), actor=uploader
    )


def test_download_by_a_user_who_may_see_the_owner(client, orgs, make_user, stored_pdf):
    province_user = make_user(org=orgs.province)
    client.force_login(province_user)

    response = client.get(f"/attachments/{stored_pdf.public_id}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert (
        "filename*=utf-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf"
        in (response["Content-Disposition"])
    )


def test_download_by_another_city_user_is_404(client, orgs, make_user, stored_pdf):
    client.force_login(make_user(org=orgs.city_b, roles=("system_admin",)))

    response = client.get(f"/attachments/{stored_pdf.public_id}/")

    assert response.status_code == 404


def test_download_by_a_partner_user_is_404(client, orgs, make_user, stored_pdf):
    client.force_login(make_user(org=orgs.partner))

    response = client.get(f"/attachments/{stored_pdf.public_id}/")

    assert response.status_code == 404


def test_download_of_an_unknown_attachment_is_404(client, orgs, uploader):
    client.force_login(uploader)

    response = client.get(f"/attachments/{uuid.uuid4()}/")

    assert response.status_code == 404


def test_download_anonymous_is_sent_to_login(client, stored_pdf):
    response = client.get(f"/attachments/{stored_pdf.public_id}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Upload page -----------------------------------------------------------------------------


def upload_url(org: OrgUnit) -> str:
    return f"/attachments/upload/accounts.orgunit/{org.pk}/"


def test_upload_page_by_the_allowed_user_attaches_the_file(client, orgs, uploader, media):
    client.force_login(uploader)

    response = client.post(
        upload_url(orgs.city_a),
        {"file": upload("photo.png", png_bytes()), "purpose": "site", "next": "/inbox/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    attachment = Attachment.objects.get()
    assert (attachment.original_name, attachment.purpose) == ("photo.png", "site")
    assert len(stored_files(media)) == 1


def test_upload_page_htmx_returns_the_panel_with_the_new_file(client, orgs, uploader):
    client.force_login(uploader)

    response = client.post(
        upload_url(orgs.city_a),
        {"file": upload("photo.png", png_bytes())},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="attachment-row"') == 1
    assert "photo.png" in html


def test_upload_page_shows_a_translated_error_and_writes_nothing(client, orgs, uploader, media):
    client.force_login(uploader)

    response = client.post(
        upload_url(orgs.city_a),
        {"file": upload("invoice.pdf", b"MZ" + b"\x00" * 100)},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert 'data-testid="attachment-error"' in response.content.decode()
    assert "This type of file is not allowed." in response.content.decode()
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


def test_upload_page_anonymous_is_sent_to_login_and_writes_nothing(client, orgs, media):
    response = client.post(upload_url(orgs.city_a), {"file": upload("a.pdf", pdf_bytes())})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


def test_upload_page_by_another_city_user_is_404_and_writes_nothing(client, orgs, make_user, media):
    client.force_login(make_user(org=orgs.city_b, roles=("system_admin",)))

    response = client.post(upload_url(orgs.city_a), {"file": upload("a.pdf", pdf_bytes())})

    assert response.status_code == 404
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


def test_upload_page_without_the_permission_is_403_and_writes_nothing(
    client, orgs, make_user, media
):
    client.force_login(make_user(org=orgs.city_a, roles=("channel_manager",)))

    response = client.post(upload_url(orgs.city_a), {"file": upload("a.pdf", pdf_bytes())})

    assert response.status_code == 403
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


def test_upload_page_for_an_unregistered_owner_type_is_404(client, orgs, uploader):
    client.force_login(uploader)

    response = client.post(
        f"/attachments/upload/accounts.user/{uploader.pk}/",
        {"file": upload("a.pdf", pdf_bytes())},
    )

    assert response.status_code == 404
    assert Attachment.objects.count() == 0
