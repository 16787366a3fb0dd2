# tempojob: one image for the API, the core worker and processor workers; the command
# picks the process (see docker-compose.yml):
#   node --import tsx src/api/main.ts                    API (any number of replicas)
#   node --import tsx src/core/main.ts           core worker (any number)
#   node --import tsx scripts/cluster/demo-worker.ts     a processor worker with the demo processors
# Debian, not Alpine: Temporal's native worker library is built for glibc only.
FROM node:20-bookworm-slim AS base
WORKDIR /app
ENV NODE_ENV=production

FROM base AS deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM base
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY console ./console
COPY scripts/build-console.ts ./scripts/
COPY scripts/cluster/demo-worker.ts scripts/cluster/bundle-workflows.ts ./scripts/cluster/
# Workflow code is bundled once, at build time: every core worker started from this image
# runs byte-identical workflow code, and starts without running webpack.
RUN node --import tsx scripts/cluster/bundle-workflows.ts /app/dist/workflows.bundle.js
ENV TEMPOJOB_WORKFLOW_BUNDLE=/app/dist/workflows.bundle.js
# The console the API serves at /console, built from console/ once, at build time.
RUN node --import tsx scripts/build-console.ts
USER node
EXPOSE 7700
# node itself is PID 1 (no launcher in between): SIGTERM reaches the process, which drains.
CMD ["node", "--import", "tsx", "src/api/main.ts"]
