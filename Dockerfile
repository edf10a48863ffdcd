# eegseq CLI image. `docker run IMAGE` trains configs/default.yaml with data under /data and
# results under /runs/default; `docker stop` checkpoints (SIGTERM) and the same `docker run`
# resumes. See the README's Docker section.
#
# BASE_IMAGE: any image with Debian-style `python3` 3.11 and its venv module. CI, which has no
# registry access, passes a base it built from a debootstrap root (.ci/docker.sh).
ARG BASE_IMAGE=python:3.11-slim

# Build stage: the virtual environment is made here and copied out, so the final image holds
# no source tree, no build backend and no pip cache.
FROM ${BASE_IMAGE} AS build
# Optional package index (a mirror); empty means PyPI. Not named PIP_INDEX_URL because pip
# would read an empty PIP_INDEX_URL as an empty index.
ARG PIP_INDEX=
WORKDIR /src
COPY pyproject.toml README.md ./
COPY eegseq/ eegseq/
COPY pipelines/ pipelines/
# A CA bundle for networks whose TLS is re-signed by a local CA arrives as the optional
# BuildKit secret `ca_bundle`, mounted for this step only: it lands in no layer.
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then \
        export PIP_CERT=/run/secrets/ca_bundle \
               SSL_CERT_FILE=/run/secrets/ca_bundle \
               REQUESTS_CA_BUNDLE=/run/secrets/ca_bundle; \
    fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/python -m pip install --no-cache-dir ${PIP_INDEX:+--index-url "$PIP_INDEX"} .

FROM ${BASE_IMAGE}
# MPLCONFIGDIR: matplotlib needs a writable folder even when run as a UID with no home.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MPLCONFIGDIR=/tmp/matplotlib
# Fixed UID/GID so bind-mounted folders can be prepared on the host (chown 10001).
# /data is writable too: the default job generates its synthetic data under the data root.
RUN groupadd --gid 10001 eegseq \
    && useradd --no-log-init --uid 10001 --gid 10001 --create-home --home-dir /home/eegseq eegseq \
    && mkdir -p /data /runs \
    && chown eegseq:eegseq /data /runs
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY configs/ /app/configs/
USER 10001:10001
VOLUME ["/data", "/runs"]
# The training job checkpoints and exits on SIGTERM. Exec-form ENTRYPOINT makes Python PID 1,
# so the signal reaches it directly (PID 1 only ignores signals it installed no handler for).
STOPSIGNAL SIGTERM
ENTRYPOINT ["eegseq"]
# --resume: re-running the same `docker run` continues a stopped run; on a fresh run dir it starts.
CMD ["train", "--config", "/app/configs/default.yaml", "--run-dir", "/runs/default", "--set", "data.root=/data", "--resume"]
