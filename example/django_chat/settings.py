"""Minimal Django settings for the chat example (no database needed)."""
SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "django_chat.urls"
INSTALLED_APPS: list = []
MIDDLEWARE: list = []
USE_TZ = True
