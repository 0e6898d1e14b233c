"""``prm tokens create|revoke|list``: API tokens for other systems (R0 4A).

``create`` prints the new token once, as the last line of its output, so scripts can
take it with ``tail -n 1``; only its hash is stored.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import User
from prm.accounts.services import api_token_create, api_token_list, api_token_revoke
from prm.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create, revoke or list API tokens of other systems."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create a token; it is printed once.")
        create.add_argument("--user", required=True, help="Username the system acts as.")
        create.add_argument("--label", required=True, help="What the token is for.")
        create.add_argument(
            "--scopes", nargs="+", default=["*"], help="Allowed scopes (default: *, all)."
        )
        create.add_argument(
            "--expires-days", type=int, default=90, help="Days until it expires (1-3650)."
        )
        revoke = actions.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix", help="The 8 characters after prm_ in the token.")
        listing = actions.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("--user", help="Only this user's tokens.")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc

    def _create(self, options) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("No user named %(u)s.") % {"u": options["user"]})
        token, raw = api_token_create(
            actor=None,
            user=user,
            label=options["label"],
            scopes=options["scopes"],
            expires_days=options["expires_days"],
        )
        self.stdout.write(
            _("Token %(prefix)s for %(user)s (%(label)s), scopes %(scopes)s, expires %(at)s.")
            % {
                "prefix": token.prefix,
                "user": user.username,
                "label": token.label,
                "scopes": " ".join(token.scopes),
                "at": timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M"),
            }
        )
        self.stdout.write(_("Copy the token now: it is not shown again."))
        self.stdout.write(raw)

    def _revoke(self, options) -> None:
        prefix = options["prefix"].removeprefix("prm_").split("_")[0]
        token = api_token_list().filter(prefix=prefix).first()
        if token is None:
            raise CommandError(_("No token with prefix %(p)s.") % {"p": prefix})
        api_token_revoke(actor=None, token=token)
        self.stdout.write(_("Token %(prefix)s revoked.") % {"prefix": prefix})

    def _list(self, options) -> None:
        now = timezone.now()
        tokens = api_token_list(username=options.get("user"))
        self.stdout.write(
            f"{_('prefix'):<10} {_('user'):<20} {_('label'):<24} {_('status'):<8} "
            f"{_('expires'):<16} {_('scopes')}"
        )
        for token in tokens:
            if token.revoked_at is not None:
                status = _("revoked")
            elif token.expires_at <= now:
                status = _("expired")
            else:
                status = _("active")
            self.stdout.write(
                f"{token.prefix:<10} {token.user.username:<20} {token.label[:24]:<24} "
                f"{status:<8} {timezone.localtime(token.expires_at):%Y-%m-%d %H:%M} "
                f"{' '.join(token.scopes)}"
            )
