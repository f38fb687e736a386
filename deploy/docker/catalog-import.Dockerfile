# syntax=docker/dockerfile:1
# The catalog import Lambda (S3 ObjectCreated -> products table) as a container image.
#
#   docker build -f deploy/docker/catalog-import.Dockerfile -t cloudmart/catalog-import .
#
# Build context: the repository root. AWS's base image carries the runtime interface client;
# packages go flat into ${LAMBDA_TASK_ROOT}, which is on the runtime's sys.path.
# checkov:skip=CKV_DOCKER_2:a Lambda has no long-running server to probe: the Lambda service invokes it, there is no HEALTHCHECK to run

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# Built on the same base as it runs on, so every wheel matches its Python and glibc.
FROM public.ecr.aws/lambda/python:3.11 AS builder
COPY --from=uv /uv /usr/local/bin/uv
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs/common libs/common
COPY services/products services/products
# Exactly the locked versions of the function's closure (products, common, their deps): the
# import is a second entry point of the products package.
# The file lists the members as ./libs/common etc., relative to this directory.
# --no-sources: the members' own [tool.uv.sources] would install cloudmart-common and
# cloudmart-products as *editable* .pth links into /src, which the final image lacks.
RUN uv export --frozen --no-dev --no-editable --package cloudmart-products \
        --output-file requirements.txt \
    && uv pip install --no-cache --no-sources --compile-bytecode \
        --python /var/lang/bin/python3.11 --target /build -r requirements.txt

FROM public.ecr.aws/lambda/python:3.11
COPY --from=builder /build ${LAMBDA_TASK_ROOT}
# Lambda runs the function as its own unprivileged user anyway; a numeric non-root user keeps
# the image honest when it is run elsewhere (the runtime interface emulator, scanners).
USER 10001:10001
CMD ["cloudmart_products.catalog_import.handler.handler"]
