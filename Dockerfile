# syntax=docker/dockerfile:1

# Node 24 is the current LTS (the suite runs on it and on Node 20); "slim" keeps the image small (no curl, hence the node-based healthcheck).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full dependency tree, compile TypeScript to dist/ -------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Manifests first so the dependency layer is reused while only the sources change. The
# packages are npm workspaces: their manifests join the root's.
COPY package.json package-lock.json ./
COPY packages/nestjs-idempotency/package.json ./packages/nestjs-idempotency/
COPY packages/payments-client/package.json ./packages/payments-client/
RUN npm ci

COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY packages/nestjs-idempotency ./packages/nestjs-idempotency
COPY packages/payments-client ./packages/payments-client
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and compiled output only -----------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production PORT=3000
WORKDIR /app

# package.json is needed at run time too: its "type": "module" makes node load dist/*.js as ESM.
# --ignore-scripts: no production dependency has an install script, and it keeps the package's
# own lifecycle scripts (e.g. a "prepare" hook that needs dev tools) from running here.
# The client package's manifest too: the playground serves its dist/ and openapi-fetch to the browser.
COPY package.json package-lock.json ./
COPY packages/nestjs-idempotency/package.json ./packages/nestjs-idempotency/
COPY packages/payments-client/package.json ./packages/payments-client/
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY --from=build /app/packages/nestjs-idempotency/dist ./packages/nestjs-idempotency/dist
COPY --from=build /app/packages/payments-client/dist ./packages/payments-client/dist
COPY --from=build /app/dist ./dist
COPY public ./public
# The SQL migrations: dist/database/migrations.js reads ../../migrations, applied at start (or by
# `node dist/database/migrate.js` as a deploy step when DATABASE_MIGRATE=false).
COPY migrations ./migrations

# Files stay owned by root, so the service (running as the unprivileged "node" user of the base
# image) can read but not modify its own code.
USER node

EXPOSE 3000

# Liveness only (the readiness probe, which also checks Redis and PostgreSQL, lives in docker-compose.yml).
# Exit 0 on a 2xx answer, 1 on any other answer or a connection error.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/main.js"]
