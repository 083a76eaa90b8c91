# Production image: configured only through HOMEWATCH_* environment variables.
FROM python:3.11-slim

# HOMEWATCH_TRUSTED_PROXIES: addresses of the reverse proxies in front (e.g. 10.0.0.0/8); only their
# X-Forwarded-For is believed. Empty: the connection's address is the client's.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HOMEWATCH_ENVIRONMENT=production HOMEWATCH_MEDIA_DIR=/data/media HOMEWATCH_TRUSTED_PROXIES=
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitoring monitoring
COPY server server
COPY webrtc webrtc
COPY web web
RUN pip install . && useradd --create-home --uid 10001 homewatch && mkdir -p /data/media && chown -R homewatch /data
USER homewatch
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "homewatch migrate && exec uvicorn server.asgi:app --host 0.0.0.0 --port 8000 --no-proxy-headers --timeout-graceful-shutdown 5"]
