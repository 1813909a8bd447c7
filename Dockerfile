# The movie catalogue API: gunicorn with gevent workers on port 8000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/catalogue

# Dependencies first, so a code change does not reinstall them. Every pin has a
# manylinux wheel, so the slim image needs no compiler. The generator's
# requirements too: docker-compose's loader runs `flask data generate` in this image.
COPY requirements.txt requirements-datagen.txt ./
RUN pip install -r requirements.txt -r requirements-datagen.txt

# /data holds the SQLite files; a named volume mounted there takes its owner.
RUN useradd --create-home --uid 10001 --user-group catalogue \
    && mkdir /data \
    && chown catalogue:catalogue /data

COPY . .

ENV FLASK_APP=wsgi \
    DATABASE_PATH=/data/movies.sqlite \
    PORT=8000

USER catalogue
EXPOSE 8000

# python:3.11-slim has no curl; urlopen raises, and so exits non-zero, unless 2xx.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=2)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
