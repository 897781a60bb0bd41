# syntax=docker/dockerfile:1
# One image for every Lab Grader service: web (gunicorn), worker and
# worker-admin (Celery, grading in the bubblewrap sandbox), beat (Celery beat),
# migrate (one-shot). See docs/deploy.md and docker-compose.yml.
#
# Debian bookworm, one Python: Debian's /usr/bin/python3 (3.11) runs the service
# from a venv in /opt/venv, and is also the base of the sandbox's boto3-only
# runtime in /opt/labgrader/runtime, which engine/runtime.py builds from
# /usr/bin/python3 (the sandbox sees /usr read-only, never /opt/venv or /app's
# settings and secrets).
FROM debian:bookworm-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH

# bubblewrap: the sandbox; util-linux: setpriv; python3-venv: the service's venv and the
# sandbox runtime; bash runs engine/launch.sh (Essential in Debian).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bubblewrap util-linux bash python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# The service's Python packages (pinned in requirements.txt).
RUN python3 -m venv /opt/venv
COPY requirements.txt /app/requirements.txt
RUN pip install -r /app/requirements.txt

WORKDIR /app

# The sandbox runtime: a venv of /usr/bin/python3 with boto3 only
# (requirements-sandbox.txt), readable and traversable by the per-run uids.
COPY requirements-sandbox.txt /app/requirements-sandbox.txt
COPY engine /app/engine
RUN python -m engine.runtime

COPY . /app
# Readable by everyone, writable by no one but root: web and beat run as
# `labgrader`, and the sandbox uids must reach engine/launch.sh.
RUN chmod -R a+rX,go-w /app \
    && chmod 755 /app/deploy/docker-entrypoint.sh

# Static files at build time. collectstatic signs nothing; the dummy key, set for
# this one command only (not ENV), keeps settings from making a local key file
# in the image. REDIS_URL likewise keeps them from creating the filesystem
# broker's folders; nothing connects to it.
RUN DEBUG=False SECRET_KEY=build-only-collectstatic-not-a-secret REDIS_URL=redis://build-only.invalid:6379/0 \
        python manage.py collectstatic --noinput \
    && chmod -R a+rX /app/var/static \
    && test ! -e /app/var/secret_key

# Web and beat run as this user; the worker runs as root (compose `user: root`)
# because each sandboxed run switches to a uid of its own with setpriv.
# /tmp/labgrader-slots holds the sandbox slot locks (engine/slots.py): compose
# mounts one volume there for all the workers of a host, so that two containers
# never run a script as the same slot uid at the same time.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin labgrader \
    && install -d -m 0700 /tmp/labgrader-slots
USER labgrader

EXPOSE 8000
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["gunicorn", "grader.wsgi", "--bind=0.0.0.0:8000", "--workers=3", "--timeout=60", "--access-logfile=-", \
     "--worker-tmp-dir=/dev/shm", "--no-control-socket"]
