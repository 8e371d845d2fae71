# Onramp's image: `api` (the default) or `worker`, per its command.
# Build stage: every dependency, to generate the Prisma client; then drop the dev ones.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
# No install script is needed (npm 11 skips them all by default); @prisma/engines' would download
# native engines that nothing here runs, which also fails on an offline build host.
RUN npm ci --ignore-scripts
COPY . .
# `generate` never runs the schema engine, but the CLI downloads one unless given any existing file.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx prisma generate \
  && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    PORT=3000 \
    ONRAMP_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /data && chown node:node /data
# The image's `node` user, by number so that runtimes can verify it is not root.
USER 1000:1000
EXPOSE 3000
ENTRYPOINT ["npx", "tsx", "src/cli/main.ts"]
CMD ["api"]
