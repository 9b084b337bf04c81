"""Exports of a comparison: computed on the server, written as CSV, JSON or HTML, checked."""
