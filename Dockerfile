# The iomscore service. Configure with DATABASE_URL (postgresql+psycopg://user:pass@host/db).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY models ./models
COPY scoring ./scoring
COPY migrations ./migrations
# The dependencies include uvicorn[standard]: uvloop and httptools (docs/benchmarks.md,
# "Under load").
RUN pip install . && useradd --create-home --uid 10001 iom && chown -R iom /app
USER iom
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["iomscore", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
