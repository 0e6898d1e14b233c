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
