"""``prm bootstrap``: the first org node and system administrator of a new installation.

``prm createsuperuser`` cannot work in PRM (every user belongs to an org unit), so a new
installation starts here. The initial password is random, printed once, and must be
changed (and TOTP enrolled) at the first sign-in.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit, User
from prm.accounts.services import org_unit_create, password_generate, user_create
from prm.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create the top org unit and the first system administrator (password printed once)."

    def add_arguments(self, parser):
        parser.add_argument("--org-code", default="HQ")
        parser.add_argument("--org-name", default="集团总部")
        parser.add_argument("--org-kind", default="hq", choices=["hq", "province"])
        parser.add_argument("--username", default="admin")
        parser.add_argument("--name", default="系统管理员")
        parser.add_argument("--email", default="")

    def handle(self, *args, **options):
        if User.objects.filter(groups__role__code="system_admin").exists():
            raise CommandError(_("A system administrator exists already: nothing was changed."))
        password = password_generate()
        try:
            with transaction.atomic():
                org = OrgUnit.objects.filter(code=options["org_code"]).first()
                if org is None:
                    if options["org_kind"] != "hq":
                        raise CommandError(
                            _("Only a headquarters can be created without a parent.")
                        )
                    org = org_unit_create(
                        actor=None,
                        code=options["org_code"],
                        name=options["org_name"],
                        kind="hq",
                        parent=None,
                    )
                user = user_create(
                    actor=None,
                    username=options["username"],
                    display_name=options["name"],
                    org=org,
                    password=password,
                    role_codes=["system_admin"],
                    email=options["email"],
                    must_change_password=True,
                )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(
            _(
                "System administrator %(username)s created in %(org)s. "
                "Initial password (shown once):"
            )
            % {"username": user.username, "org": org.name}
        )
        self.stdout.write(password)
