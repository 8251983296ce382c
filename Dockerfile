# tradeterm on python:3.11-slim; multi-arch (linux/arm64 for the Raspberry Pi, linux/amd64):
#   docker buildx build --platform linux/arm64,linux/amd64 -t tradeterm .
#   docker run -it --rm -v tt-state:/app/state -v tt-reports:/app/reports tradeterm
# Headless:  docker run -d -v tt-state:/app/state tradeterm run --no-ui
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# TA-Lib and numba ship wheels for both arches; gcc is only a fallback for any sdist.
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tradeterm ./tradeterm
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends tmux && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 trader
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 TERM=xterm-256color NUMBA_CACHE_DIR=/app/state/.numba
WORKDIR /app
COPY configs ./configs
RUN mkdir -p state reports && chown -R trader:trader /app
USER trader
VOLUME ["/app/state", "/app/reports"]
ENTRYPOINT ["tradeterm"]
CMD ["--config", "configs/default.toml"]
