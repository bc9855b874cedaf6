# syntax=docker/dockerfile:1
# Two images from one file (see README, "Production"):
#   docker build -t ms-identity-flask-webapp .            the app under gunicorn (last stage)
#   docker build --target emulator -t entra-emulator .    the emulator, for compose.yaml's demo
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
# One unprivileged user, the same uid in both images: the app reads the emulator's CA.
# USER names the uid, so Kubernetes' runAsNonRoot can check it.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin app
WORKDIR /app

FROM base AS emulator
# socat lets the browser reach the emulator, which listens on loopback only. Unpinned:
# the base image's Debian release decides the version, and its security updates apply.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends socat \
    && rm -rf /var/lib/apt/lists/*
COPY emulator /tmp/emulator
RUN pip install /tmp/emulator && rm -rf /tmp/emulator
COPY scripts/emulator_in_container.sh /usr/local/bin/emulator-in-container
RUN install -d -o app -g app /state
USER 10001:10001
EXPOSE 8080
CMD ["emulator-in-container"]

FROM base AS app
COPY requirements.txt ./
RUN pip install -r requirements.txt
# The app's own files only: no tests, emulator, scripts or .env (see .dockerignore too).
COPY *.py ./
COPY auth ./auth
COPY graph ./graph
COPY templates ./templates
COPY static ./static
RUN python -m compileall -q . && install -d -o app -g app /data
# File sessions (one container) go to /data; set SESSION_TYPE=redis for more.
ENV PORT=8000 \
    SESSION_FILE_DIR=/data/sessions
USER 10001:10001
EXPOSE 8000
# python -m health asks http://127.0.0.1:$PORT/healthz (the slim image has no curl).
HEALTHCHECK --interval=10s --timeout=6s --start-period=20s --retries=3 \
    CMD ["python", "-m", "health"]
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
