"""Menu entries of the accounts and console pages (registered in AccountsConfig.ready)."""
