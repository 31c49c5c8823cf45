# syntax=docker/dockerfile:1
# The agentqueue images, one recipe: one target per service, from the repository root.
#   docker build --target gateway -t agentqueue-gateway:dev .
#   for s in gateway worker limiter operator simulator; do
#     docker build --target $s -t agentqueue-$s:dev .
#   done
# (skaffold.yaml builds all five.) Always give --target: without it Docker builds the last
# stage, the simulator.
#
# Every target is the same /opt/venv (the package, its locked dependencies and the operator
# extra's kopf); the targets differ in EXPOSE and CMD only, so the five images share every
# layer but their metadata. Each runs as uid 10001 on a read-only root filesystem (mount an
# emptyDir at /tmp); no shell is involved at run time.
#
# PYTHON_IMAGE: any Debian-based image with CPython 3.11 as `python3`, `python3 -m venv`
# able to seed pip (Debian: python3-venv), apt-get and groupadd/useradd; python:3.11-slim
# or a Debian bookworm base with its python3 (scripts/images makes one with debootstrap and
# builds every target with buildah). requirements/images.lock covers both, on x86_64 and
# aarch64.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
# binutils for strip, in the builder only (its layers never reach an image).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
WORKDIR /src
# Dependencies first, from the lock alone (scripts/lock writes it from pyproject.toml):
# this layer survives every code change, and pyproject.toml changes that leave the lock be.
# Every file is checked against its hash; nothing is resolved here. Then the extension
# modules lose their debug symbols (uvloop's alone shrinks from 13.6 MB to 1.6 MB) and the
# packages their own test suites (google-genai's: 6 MB): the venv goes from 175 MB to
# 141 MB. The bytecode of what remains stays (the image is read-only at run time).
COPY requirements/images.lock requirements/images.lock
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r requirements/images.lock \
 && find /opt/venv -name '*.so' -type f -exec strip --strip-unneeded {} + \
 && find /opt/venv/lib/python3*/site-packages -mindepth 2 -type d -name tests -prune \
      -exec rm -rf {} +
# The package: a wheel built from the sources (setuptools runs in pip's isolated build
# environment, so nothing of the build enters the venv), installed without dependencies
# (the lock brought them) and compiled to bytecode now: the image is read-only at run time.
# Then pip and setuptools leave the venv.
COPY pyproject.toml README.md ./
COPY services ./services
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/dist . \
 && /opt/venv/bin/pip install --no-deps /tmp/dist/agentqueue-*.whl \
 && /opt/venv/bin/python -m pip uninstall --yes pip setuptools

# What every service image is: the base and the venv, a numeric non-root user.
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 agentqueue \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
      --shell /usr/sbin/nologin agentqueue
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001

# agentqueue-gateway: the HTTP API (tasks, probes, /metrics).
FROM runtime AS gateway
EXPOSE 8080
CMD ["python", "-m", "agentqueue.gateway"]

# agentqueue-worker: one Dramatiq worker process; the operator runs it per AgentQueue
# (/metrics on 9100).
FROM runtime AS worker
EXPOSE 9100
CMD ["python", "-m", "agentqueue.worker"]

# agentqueue-limiter: the shared rate limiter's HTTP API.
FROM runtime AS limiter
EXPOSE 8091
CMD ["python", "-m", "agentqueue.limiter"]

# agentqueue-operator: the AgentQueue operator (kopf); /healthz on 8080.
FROM runtime AS operator
EXPOSE 8080
CMD ["python", "-m", "agentqueue.operator"]

# agentqueue-simulator: the provider simulator (Anthropic, OpenAI and Gemini protocols).
FROM runtime AS simulator
EXPOSE 8090
CMD ["python", "-m", "agentqueue.simulator"]
