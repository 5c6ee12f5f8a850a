# syntax=docker/dockerfile:1
# Spillway, the xDS control plane, as a container image.
#   docker build -t spillway:dev .
#   docker run --rm -p 15010:15010 -p 15014:15014 spillway:dev                      # embedded example mesh
#   docker run --rm -v $PWD/examples:/etc/spillway:ro spillway:dev --mesh /etc/spillway/mesh.yaml \
#     --xds 0.0.0.0:15010 --admin 0.0.0.0:15014
# Stages: deps (production node_modules only) and build (compiler and dev packages) feed a runtime stage
# that holds dist/src, production node_modules and package.json, and runs as an unprivileged user.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/gen-xds-types.sh ./scripts/
COPY src ./src
# The Envoy message types are generated from the protos of the installed @grpc/grpc-js-xds first (the
# builders are typed with them). Only src/ is in the build context's copy, so tsc compiles the product and
# none of the tests; the live page's browser script is bundled next to it (esbuild, a dev package here).
RUN bash scripts/gen-xds-types.sh \
 && npx tsc -p tsconfig.json && test -f dist/src/cli/main.js \
 && npm run --silent build:page && test -f dist/src/admin/page/page-bundle.js

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# glibc malloc with a fixed mmap threshold: the large response buffers of a reconnect storm are returned to
# the system when freed instead of staying resident (docs/OPERATIONS.md, Memory).
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
# A fixed numeric uid, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN groupadd --system --gid 10001 spillway \
 && useradd --system --uid 10001 --gid spillway --no-create-home --shell /usr/sbin/nologin spillway
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./
RUN chmod 0755 dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/spillway
USER 10001:10001
# 15010: xDS (ADS, SotW and delta) and load reports, gRPC. 15014: admin HTTP (health, metrics, debug, page).
EXPOSE 15010 15014
# The image has no curl: node itself checks /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:15014/healthz',(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
ENTRYPOINT ["spillway", "serve"]
# Inside a container the admin server must listen beyond loopback to be probed and scraped.
CMD ["--xds", "0.0.0.0:15010", "--admin", "0.0.0.0:15014", "--log-format", "json"]
