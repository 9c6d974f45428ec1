"""Settings for the test suite: fixed keys, everything else as in production."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DMS_ENCRYPTION_KEY", "b0Kk0hm0Hn9cJ6gqP0m3xj6p3Yb3q6m8Qm5gQ4r2N1A=")
os.environ.setdefault("DMS_CHANNELS_PREFIX", f"dmstest{os.getpid()}")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-ins in tests
