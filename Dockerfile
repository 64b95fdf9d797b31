# The Stadspuls image: every process of a deployment (compose.yaml) runs from it, each with its
# own command (`stadspuls worker …`, `stadspuls db upgrade`, `stadspuls run`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ASSETS.md ./
COPY src ./src
RUN pip install . && rm -rf /src

# A user of its own (uid 10001: deploy/make-secrets.sh gives it the secrets); state (media,
# generated keys when none are given) under /var/lib/stadspuls.
RUN useradd --system --uid 10001 --home-dir /var/lib/stadspuls --create-home stadspuls \
    && mkdir -p /var/lib/stadspuls/media /etc/stadspuls \
    && chown -R stadspuls:stadspuls /var/lib/stadspuls
COPY deploy/docker-entrypoint.sh /usr/local/bin/stadspuls-entrypoint
USER stadspuls
WORKDIR /var/lib/stadspuls

ENTRYPOINT ["stadspuls-entrypoint"]
CMD ["stadspuls", "run", "--host", "0.0.0.0"]
