# Onramp's image: `api` (the default) or `worker`, per its command.
# Build stage: every dependency, to generate the Prisma client and compile dist/ (`npm run build`);
# then only what production runs is kept.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
# No install script is needed (npm 11 skips them all by default); @prisma/engines' would download
# native engines that nothing here runs, which also fails on an offline build host.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build
# --omit=optional as well: the Prisma CLI and TypeScript are optional peers of @prisma/client, kept
# by --omit=dev alone; the other optional packages are swc's native builds (webpack's, for
# bundling workflows, done above), pg-cloudflare and uglify-js, none of which production loads.
# The Temporal SDK's native bridge ships a build per platform: only this one's is kept.
RUN npm prune --omit=dev --omit=optional --ignore-scripts \
  && keep=$(node -p "require('@temporalio/core-bridge/common.js').getPrebuiltTargetName()") \
  && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    PORT=3000 \
    ONRAMP_DATA_DIR=/data
WORKDIR /app
# What the compiled CLI reads at run time (scripts/build.ts, RUNTIME_FILES), dist/ and node_modules.
COPY --from=build /app/package.json ./
COPY --from=build /app/config ./config
COPY --from=build /app/templates ./templates
COPY --from=build /app/prisma/migrations ./prisma/migrations
COPY --from=build /app/src/dashboard ./src/dashboard
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
# The image's `node` user, by number so that runtimes can verify it is not root.
USER 1000:1000
EXPOSE 3000
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/onramp.js"]
CMD ["api"]
