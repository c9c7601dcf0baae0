"""Signals other apps listen to, so screening does not need to know them."""

from django.dispatch import Signal

# Sent after a live (not dry) run stored its warnings; kwargs: run. New open warnings become leads.
run_finished = Signal()
