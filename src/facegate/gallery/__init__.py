"""Enrolled people and their templates: storage, calibrated thresholds, 1:N search."""

from facegate.gallery.matcher import Candidate, Gallery, Match, load_galleries
from facegate.gallery.store import GalleryStore, Person, SQLiteGallery

__all__ = [
    "Candidate",
    "Gallery",
    "GalleryStore",
    "Match",
    "Person",
    "SQLiteGallery",
    "load_galleries",
]
