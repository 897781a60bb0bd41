import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(request):
    # Real hashing costs ~0.3 s per user; tests create many users.
    if "django_db_setup" in request.fixturenames or "db" in request.fixturenames:
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
