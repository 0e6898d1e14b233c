"""Django admin for the accounts models: a read-mostly back office for operators of the
server. Day-to-day work uses the console (``/console/``), which is scoped and audited.

Users are never deleted (R0: disable, never delete a user with history), so delete is
refused here too; so are deletes of org units, roles and tokens that history points at.
"""

from django.contrib import admin

from prm.accounts.models import AccountRequest, ApiToken, LoginAttempt, OrgUnit, Role, User


class NoDeleteAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OrgUnit)
class OrgUnitAdmin(NoDeleteAdmin):
    list_display = ("code", "name", "kind", "parent", "depth", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    readonly_fields = ("path", "depth")
    list_select_related = ("parent",)


@admin.register(Role)
class RoleAdmin(NoDeleteAdmin):
    list_display = ("code", "name", "audience", "home_view")
    list_filter = ("audience",)
    readonly_fields = ("code", "group")


@admin.register(User)
class UserAdmin(NoDeleteAdmin):
    list_display = ("username", "display_name", "org", "is_active", "last_login")
    list_filter = ("is_active", "org__kind")
    search_fields = ("username", "display_name", "email", "mobile")
    list_select_related = ("org",)
    readonly_fields = (
        "password",
        "last_login",
        "date_joined",
        "password_changed_at",
        "totp_secret",
        "totp_confirmed_at",
    )
    exclude = ("user_permissions",)


@admin.register(ApiToken)
class ApiTokenAdmin(NoDeleteAdmin):
    list_display = ("label", "prefix", "user", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("prefix", "token_hash", "user", "created_by", "last_used_at")
    list_select_related = ("user",)


@admin.register(LoginAttempt)
class LoginAttemptAdmin(NoDeleteAdmin):
    list_display = ("created_at", "username", "ip_address", "is_success")
    list_filter = ("is_success",)
    search_fields = ("username",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AccountRequest)
class AccountRequestAdmin(NoDeleteAdmin):
    list_display = ("code", "username", "org", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("status", "created_user")
