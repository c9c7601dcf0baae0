"""Signals other apps listen to, so the registry does not need to know them."""

from django.dispatch import Signal

# Sent after an import changed the registry (not for a repeated, no-op import); kwargs: result.
registry_imported = Signal()

# Sent by a person search by name; kwargs: name, low, high (the searcher's region range). Receivers return
# the ID numbers of people in that range whose whole name reads like `name` (a rare character typed as a
# homophone: 张吉 finds 张𠮷), at most a couple of hundred.
name_reads_like = Signal()
