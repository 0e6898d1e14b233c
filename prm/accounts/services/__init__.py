"""Writes of the accounts app, one module per concern; import from here.

- ``directory``: org units, users, roles (creation, role sync)
- ``console``: updates made on the administration console (edit, disable, unlock …)
- ``auth``: sign-in, lockout, password change, TOTP
- ``tokens``: API tokens
- ``requests``: operator account requests on the workflow engine
"""

from prm.accounts.services.directory import (  # noqa: F401
    org_unit_create,
    roles_sync,
    roles_sync_after_migrate,
    user_create,
)
from prm.accounts.services.tokens import (  # noqa: F401
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
)

# isort: split
from prm.accounts.services.auth import (  # noqa: F401
    TotpPending,
    auth_login,
    auth_login_pending,
    auth_login_totp,
    auth_logout,
    user_password_change,
    user_totp_disable,
    user_totp_enable,
)
from prm.accounts.services.tokens import api_token_list  # noqa: F401

# isort: split
from prm.accounts.services.console import (  # noqa: F401
    org_unit_update,
    password_generate,
    role_permissions_set,
    user_disable,
    user_enable,
    user_language_set,
    user_password_reset,
    user_provision,
    user_unlock,
    user_update,
)
