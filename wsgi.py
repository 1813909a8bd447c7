"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app``; ``flask --app wsgi``."""

from service import create_service

app = create_service()
