# syntax=docker/dockerfile:1
# Baton node image. Two stages: `build` compiles src/ to dist/ exactly as `npm run build` does
# (dev dependencies needed); the runtime stage holds dist/ and production dependencies only.
#
#   docker build -t baton .
#   docker run --rm baton --help
#
# Debian (glibc), not Alpine: uWebSockets.js ships glibc binaries only.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Applied at install by patch-package (postinstall): a postgres.js fix upstream has not released yet.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Applied at install by patch-package (postinstall): a postgres.js fix upstream has not released yet.
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Sender recovery needs libsecp256k1's prebuilt binary (linux-x64 in the secp256k1 npm package; no
# install script, no compiler): fail the build here rather than run ~10× slower on JavaScript.
RUN node -e "require('secp256k1/bindings')"
COPY --from=build /app/dist ./dist
# The health check script, and the dev genesis that k8s/ copies into the Geth init container.
COPY deploy/healthcheck.mjs deploy/genesis.json ./deploy/
# --data-dir: the embedded EL, PGlite, the file lease and a generated JWT secret live here when
# the node is not pointed at external services. Owned by the unprivileged `node` user (uid 1000).
RUN mkdir /data && chown node:node /data
VOLUME /data
USER node
ENV BATON_DATA_DIR=/data \
    BATON_HEALTH_ADDR=:8080 \
    BATON_API_ADDR=:8090
EXPOSE 8080 8090
# Healthy = GET /health answers 200; start-period covers the embedded EL's start when used.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "deploy/healthcheck.mjs"]
# Node handles SIGTERM itself (releases the lease, stops children); run with `--init` (compose:
# `init: true`) so that orphaned processes are reaped.
ENTRYPOINT ["node", "dist/cli/main.js"]
