# The worker image: `docker build -t automlops .` (the last stage, `runtime`, is the default).
# The SageMaker emulator for docker/compose.yaml: `docker build --target local -t automlops-local .`
#
# Every stage uses the same base, pinned by version (the runtime stage must match the builder's
# Python, which the venv's interpreter links point to). Pin it further by digest where required:
# python:3.11.14-slim-bookworm@sha256:<digest>.

# --- builder: resolve the locked dependencies into /app/.venv ------------------------------------
FROM python:3.11.14-slim-bookworm AS builder
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, the project after: editing the code does not re-download the dependencies.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-editable --no-install-project
COPY README.md ./
COPY automlops ./automlops
COPY service ./service
COPY handlers ./handlers
COPY localcloud ./localcloud
# --no-editable installs the project into site-packages: the final stage needs no /src.
# No `local` extra: moto, flask and xgboost stay out of the production image.
RUN uv sync --frozen --no-dev --no-editable

# --- local-builder: the same, plus the `local` extra for the SageMaker emulator ------------------
FROM builder AS local-builder
RUN uv sync --frozen --no-dev --no-editable --extra local

# --- local: the SageMaker emulator (and the LocalStack provisioning) for docker/compose.yaml ----
FROM python:3.11.14-slim-bookworm AS local
RUN groupadd --system --gid 10001 automlops \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin automlops
COPY --from=local-builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
EXPOSE 4599
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 4599), 2).close()"]
ENTRYPOINT ["python", "-m", "localcloud.sagemaker"]
CMD ["--port", "4599"]

# --- runtime: the worker ----------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="automlops" \
      org.opencontainers.image.description="Event-driven MLOps worker (SQS -> SageMaker)" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed uid/gid: the ECS task definition and compose run as 10001:10001 too.
RUN groupadd --system --gid 10001 automlops \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp/automlops/home \
       --shell /usr/sbin/nologin automlops \
    && install -d -o 10001 -g 10001 -m 0750 \
       /tmp/automlops /tmp/automlops/work /tmp/automlops/tmp /tmp/automlops/home
# Owned by root and so read-only for the worker, even if the root filesystem were writable.
COPY --from=builder /app/.venv /app/.venv
# The root filesystem is read-only in ECS and compose; the only writable place is the /tmp
# volume. ECS copies the image's /tmp into it (VOLUME path = the task's containerPath), so the
# directories above arrive owned by the worker, whatever mode ECS gives the volume's root.
# Bytecode was compiled at build time, so Python has nothing to write next to the code.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp/automlops/home \
    TMPDIR=/tmp/automlops/tmp \
    AUTOMLOPS_HEALTH_FILE=/tmp/automlops/health \
    AUTOMLOPS_WORK_DIR=/tmp/automlops/work
VOLUME ["/tmp"]
USER 10001:10001
WORKDIR /tmp/automlops
# ECS ignores this (the task definition carries its own health check); docker and compose use it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["automlops", "healthcheck"]
ENTRYPOINT ["automlops"]
CMD ["worker"]
