# Sonde node agent image.  Build: docker build -t sonde:0.1.0 .
# Runs as root with BPF capabilities and the host's PID namespace: see deploy/README.md.

# Build stage: npm ci runs `prepare` (scripts/build.mjs): tsc of src/ into dist/src and the native
# ring-buffer consumer into dist/native (gcc, no -dev headers). Tests and benchmarks stay out.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/sonde
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
COPY native ./native
RUN npm ci && npm prune --omit=dev

# Runtime: Node, libbpf.so.1 (the FFI bridge loads it) and only what `sonde run` reads at run time.
# `mount` (util-linux, in the base image) is used to mount tracefs when a host has not.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /opt/sonde
# package.json marks the package root: the code finds bpf/, dist/native and the .proto files from it.
COPY --from=build /opt/sonde/package.json ./
COPY --from=build /opt/sonde/node_modules ./node_modules
COPY --from=build /opt/sonde/bin ./bin
COPY --from=build /opt/sonde/dist/src ./dist/src
COPY --from=build /opt/sonde/dist/native ./dist/native
COPY --from=build /opt/sonde/src/collector/pdata/proto ./src/collector/pdata/proto
# The committed CO-RE objects: no clang in the image.
COPY bpf/*.bpf.o ./bpf/
USER 0
ENTRYPOINT ["node", "/opt/sonde/bin/sonde.js"]
CMD ["run"]
