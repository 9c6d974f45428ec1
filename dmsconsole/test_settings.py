"""Settings for the test suite: fixed keys, everything else as in production."""

import os
import tempfile
import uuid

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DMS_ENCRYPTION_KEY", "b0Kk0hm0Hn9cJ6gqP0m3xj6p3Yb3q6m8Qm5gQ4r2N1A=")
os.environ.setdefault("DMS_CHANNELS_PREFIX", f"dmstest{os.getpid()}")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-ins in tests

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: worker subprocesses started by live tests must see the same test database.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"dmstest-{os.getpid()}-{uuid.uuid4().hex[:8]}.sqlite3")
    }


# WhiteNoise warns at every request while STATIC_ROOT is missing (before collectstatic); tests use the finders.
os.makedirs(STATIC_ROOT, exist_ok=True)  # noqa: F405

# No publisher thread in the test process (it would outlive a test's database); the worker and console
# processes that live tests start use the production settings, and the push tests turn it on themselves.
DMS_LIVE_PUSH = False
