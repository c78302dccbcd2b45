# syntax=docker/dockerfile:1
# promo: one image for the API and the workers (the command picks which).
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step:
# the image holds production dependencies and the sources, nothing else.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY config ./config
COPY src ./src
COPY jobs ./jobs
COPY bin ./bin
# Files the platform writes (emails in .eml form without SMTP, exports, reports) go under var/; mount a volume there.
RUN mkdir -p /app/var && chown node:node /app/var
USER node
EXPOSE 3000
# /healthz on the API; a worker sets HEALTHCHECK_URL to its METRICS_PORT listener.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL || `http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains (stop intake, finish in-flight requests and jobs); give it SHUTDOWN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
CMD ["node", "src/main/api.ts"]
