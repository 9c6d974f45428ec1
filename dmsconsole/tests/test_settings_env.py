"""Settings come from the environment and fail at start-up naming the bad variable."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "b0Kk0hm0Hn9cJ6gqP0m3xj6p3Yb3q6m8Qm5gQ4r2N1A="


def _check(env_overrides: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update({"SECRET_KEY": "x" * 50, "DMS_ENCRYPTION_KEY": GOOD_KEY,
                "DJANGO_SETTINGS_MODULE": "dmsconsole.settings"})
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)


def test_it_starts_with_the_embedded_defaults():
    result = _check({"DATABASE_URL": None, "DEBUG": None})
    assert result.returncode == 0, result.stderr


def test_it_names_a_missing_secret_key():
    result = _check({"SECRET_KEY": None})
    assert result.returncode != 0
    assert "Environment variable SECRET_KEY is required but not set." in result.stderr


def test_it_names_a_malformed_encryption_key():
    result = _check({"DMS_ENCRYPTION_KEY": "too-short"})
    assert result.returncode != 0
    assert "Environment variable DMS_ENCRYPTION_KEY is malformed" in result.stderr


def test_it_names_a_malformed_database_url():
    result = _check({"DATABASE_URL": "mongodb://somewhere/db"})
    assert result.returncode != 0
    assert "Environment variable DATABASE_URL" in result.stderr
    assert "not a supported database URL" in result.stderr


def test_it_names_a_malformed_boolean():
    result = _check({"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "Environment variable DEBUG='maybe' is not a boolean" in result.stderr


def test_it_keeps_debug_off_and_cookies_secure_under_https():
    code = ("import django;django.setup();from django.conf import settings as s;"
            "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)")
    env = {**os.environ, "SECRET_KEY": "x" * 50, "DMS_ENCRYPTION_KEY": GOOD_KEY,
           "DJANGO_SETTINGS_MODULE": "dmsconsole.settings", "DMS_HTTPS": "1"}
    env.pop("DEBUG", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "True", "True"], out.stderr
