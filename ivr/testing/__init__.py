"""Tools to test menus and deployments the way callers use them (also used by the QA runner)."""
