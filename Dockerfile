# The warmpool operator image: Node 24, the compiled operator and its production dependencies, run as a non-root
# user with no npm at run time.
#   docker build -t warmpool:dev .
# Where there is no Docker, hack/image/build.sh builds this same file with buildah on a base image it makes
# locally (BASE_IMAGE=localhost/warmpool-node-base:24), offline once the npm cache holds the dependencies.
ARG BASE_IMAGE=node:24-bookworm-slim

# Production dependencies only, in a stage of their own: it is rebuilt only when the lockfile changes.
FROM ${BASE_IMAGE} AS deps
# hack/image/build.sh sets it to true: npm then installs from the npm cache it mounts, with no network.
ARG NPM_CONFIG_OFFLINE=false
WORKDIR /src
COPY package.json package-lock.json ./
# Type declarations, TypeScript sources, source maps and docs are half of node_modules and none of them runs.
# npm install keeps the locked versions; npm ci would refuse a lockfile written where the registry served only this
# platform's optional packages (see the Makefile's deps target).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) \
      -exec rm -f {} +

FROM ${BASE_IMAGE} AS build
ARG NPM_CONFIG_OFFLINE=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY operator/ operator/
COPY cmd/ cmd/
# cmd/warmpool.ts type-checks its other subcommands too (imported lazily; the image runs only `operator`).
COPY e2e/cluster/ e2e/cluster/
COPY hack/ hack/
RUN npx tsc -p tsconfig.build.json

FROM ${BASE_IMAGE}
# The base's package managers stay out of the running operator.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
ENV NODE_ENV=production
# package.json makes dist/ ES modules ("type": "module").
COPY --from=build /src/package.json ./
COPY --from=deps /src/node_modules/ node_modules/
COPY --from=build /src/dist/operator/ dist/operator/
COPY --from=build /src/dist/cmd/ dist/cmd/
# A numeric user (distroless's nonroot), so runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 8081
# A small young generation and --optimize-for-size keep the resident set near the live heap (as bin/warmpool does).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--optimize-for-size", "dist/cmd/warmpool.js", "operator"]
