# The DMS console image: web (daphne), workers and the scheduler all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DMS_SPOOL_DIR=/var/lib/dms/spool

# unixODBC + FreeTDS: the SQL Server engine's driver path (pyodbc).
RUN apt-get update \
 && apt-get install -y --no-install-recommends unixodbc tdsodbc \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are collected at build time (settings need some key to load; these are not used at run time).
RUN SECRET_KEY=collectstatic-only DMS_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput \
 && useradd --system --create-home --home-dir /var/lib/dms dms \
 && mkdir -p /var/lib/dms/spool \
 && chown -R dms /var/lib/dms

USER dms
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "dmsconsole.asgi:application"]
