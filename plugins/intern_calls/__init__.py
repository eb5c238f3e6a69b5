"""Intern calls: open/closed pages, testimonials, JobPosting data and /internships/."""

from .plugin import register

__all__ = ["register"]
