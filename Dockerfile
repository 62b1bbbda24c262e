# hooklog ingest and worker (one image, the command picks the role): the product only, no bench/.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY projections ./projections
COPY floor ./floor
COPY ingest ./ingest
COPY streams ./streams
COPY hooklog ./hooklog
RUN pip install --no-cache-dir .
ENV HOOKLOG_INGEST_HOST=0.0.0.0 HOOKLOG_WORKER_HOST=0.0.0.0 HOOKLOG_DATA_DIR=/data
VOLUME /data
ENTRYPOINT ["hooklog"]
