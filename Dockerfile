# hmmsim as a container image (for deploy/k8s/campaign-job.yaml): `hmmsim` on the PATH.
#   docker build -t hmmsim:latest .
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/hmmsim.wasm ./build/hmmsim.wasm
RUN ln -s /app/bin/hmmsim.js /usr/local/bin/hmmsim
USER node
ENTRYPOINT ["hmmsim"]
