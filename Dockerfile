# One image for the api and the engine node (the command picks which), built in two stages:
# `build` installs every dependency, generates the Prisma Client and compiles TypeScript to dist/ (scripts/build.mjs);
# `runtime` holds only the production dependencies, the compiled output and the migrations, and runs as `node`.
# `npm run check:image` replays these steps in a temporary folder (Docker is not needed for it): keep it passing.
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NX_DAEMON=false
COPY package.json package-lock.json ./
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
RUN node scripts/build.mjs

FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall generates the Prisma Client with the dev-only CLI; the build stage did that
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY prisma/migrations ./prisma/migrations
COPY --from=build /app/dist ./dist
# DATA_DIR holds the master-key file and the first admin key (and an embedded Postgres when DATABASE_URL is
# unset): a volume, writable by the unprivileged user. Set MASTER_KEY so a new volume still opens the API keys.
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data HOST=0.0.0.0 PORT=3000
VOLUME /data
USER node
EXPOSE 3000
CMD ["node", "dist/apps/api/src/main.js"]
