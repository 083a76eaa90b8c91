"""ASGI entry point for uvicorn/gunicorn: settings come from the environment only."""

from server.app import create_app

app = create_app()
