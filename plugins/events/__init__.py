"""Trainings and events: pages, listings, iCalendar files and schema.org Event data."""

from .plugin import register

__all__ = ["register"]
