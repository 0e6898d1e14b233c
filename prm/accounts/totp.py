"""Time-based one-time passwords (RFC 6238) for the optional second sign-in factor (R0).

Thin wrappers over ``pyotp`` and ``qrcode`` so that services and views share one
definition of the issuer, the accepted clock drift and the QR rendering.
"""

from __future__ import annotations

import pyotp
import qrcode
import qrcode.image.svg

ISSUER = "PRM"
# One 30-second step either side: phones whose clock drifts a little still sign in.
VALID_WINDOW = 1


def totp_secret_generate() -> str:
    return pyotp.random_base32()


def totp_code_verify(*, secret: str, code: str) -> bool:
    """Whether ``code`` (spaces ignored) is the current code of ``secret``, ±1 step."""
    code = (code or "").replace(" ", "").strip()
    if not secret or not code.isdigit():
        return False
    return pyotp.TOTP(secret).verify(code, valid_window=VALID_WINDOW)


def totp_provisioning_uri(*, secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (by QR code or by hand)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_qr_svg(*, uri: str) -> str:
    """The QR code of ``uri`` as an inline ``<svg>`` element (no XML declaration)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    return image.to_string(encoding="unicode")
