"""Menu entries of the platform pages (registered in CoreConfig.ready)."""
