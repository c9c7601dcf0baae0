"""Signals other apps listen to, so the registry does not need to know them."""

from django.dispatch import Signal

# Sent after an import changed the registry (not for a repeated, no-op import); kwargs: result.
registry_imported = Signal()
