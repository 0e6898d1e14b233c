"""Home-page panels of the credit module."""
