"""Placeholder until this tab's issue lands (replaced by the tab's own module)."""

from components.placeholder import build

__all__ = ["build"]
