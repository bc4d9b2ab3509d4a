# One image for web and CPU workers. GPU workers build with --build-arg EXTRAS=gpu on a CUDA host (see README).
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ALFA_VAR_DIR=/var/lib/alfa
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY platform platform
COPY corpus corpus
COPY jobs jobs
COPY synthesis synthesis
COPY annotation annotation
COPY training training
COPY evaluation evaluation
COPY manage.py ./
ARG EXTRAS=""
COPY requirements-gpu.txt ./
# CPU image: the CPU torch wheel. GPU image: vLLM's CUDA torch first, then the project without touching it.
RUN if [ "$EXTRAS" = "gpu" ]; then \
      pip install -r requirements-gpu.txt && pip install --no-deps -e . ; \
    else \
      pip install --extra-index-url https://download.pytorch.org/whl/cpu -e . \
      && python -c "import torch; assert torch.version.cuda is None" ; \
    fi
RUN mkdir -p /var/lib/alfa && python manage.py collectstatic --no-input -v 0
EXPOSE 8000
CMD ["gunicorn", "alfa_platform.wsgi", "-b", "0.0.0.0:8000", "-w", "3", "--threads", "4", "--timeout", "120"]
