# The warmpool operator image: Node 24 and the operator bundled with its dependencies into one file
# (hack/bundle.mjs), run as a non-root user with no npm and no node_modules at run time.
#   docker build -t warmpool:dev .
# Where there is no Docker, hack/image/build.sh builds this same file with buildah on a base image it makes
# locally (BASE_IMAGE=localhost/warmpool-node-base:24), offline once the npm cache holds the dependencies.
ARG BASE_IMAGE=node:24-bookworm-slim

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
RUN npx tsc -p tsconfig.build.json && node hack/bundle.mjs

FROM ${BASE_IMAGE}
# The base's package managers stay out of the running operator.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
ENV NODE_ENV=production
# One file holds the operator and every dependency it loads; its source map stays in the build stage.
COPY --from=build /src/dist/warmpool.mjs dist/warmpool.mjs
# A numeric user (distroless's nonroot), so runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080 8081
# A small young generation and --optimize-for-size keep the resident set near the live heap, and the claim path's
# bytecode is kept through quiet spells (as bin/warmpool does, which says why).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--optimize-for-size", "--no-flush-bytecode", "dist/warmpool.mjs", "operator"]
