"""Descent Playground's web app: FastAPI routes, Jinja2 pages and static files."""
