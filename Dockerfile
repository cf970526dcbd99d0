# Followup Bot: the console script as the entrypoint, run as a user without privileges.
#   docker build -t followup-bot .
#   docker run --env-file .env followup-bot serve --http --port 3000
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md app_manifest.yml app_manifest.http.yml ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 followup
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER followup
WORKDIR /home/followup
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status == 200 else 1)" || exit 1
ENTRYPOINT ["followup-bot"]
CMD ["serve", "--http", "--port", "3000"]
