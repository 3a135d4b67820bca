# syntax=docker/dockerfile:1
# candlecast: build the TypeScript, then run the compiled JS as a non-root user.
# Data: give DATABASE_URL for an external Postgres, or mount a volume on /data for the
# embedded one (it runs as the same non-root user; no root needed).

FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
RUN groupadd --system candlecast && useradd --system --gid candlecast --home /app candlecast \
 && mkdir -p /data && chown candlecast:candlecast /data
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts ./
# Production dependencies only; the postinstall skips Prisma generation (the client is compiled into dist/).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
COPY data ./data
USER candlecast
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# --max-semi-space-size=8 and MALLOC_ARENA_MAX=2: ~50 MB less idle RSS (docs/performance.md)
CMD ["node", "--max-semi-space-size=8", "dist/src/server.js"]
