# One image for every Roster service and simulator; the command picks which one runs.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY . .
RUN uv sync --frozen --no-dev && rm -rf /root/.cache
ENV PATH="/app/.venv/bin:$PATH"
USER 65534
ENTRYPOINT ["roster"]
