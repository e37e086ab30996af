# gatherd (and the gather CLI, for exec probes and debugging) on Debian 12 bookworm-slim.
#   build stage:   the -dev packages, CMake with GATHER_BUILD_TESTS=OFF (only gatherd and gather)
#   runtime stage: the shared libraries they link, CA certificates, an unprivileged user
# Runs with a read-only root filesystem (it writes nothing but stderr) and no capabilities.
# `scripts/container-test` builds and runs it with podman; docs/OPERATIONS.md has the details.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG JOBS=2
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto \
      libabsl-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libsimdjson-dev \
      prometheus-cpp-dev libcli11-dev libhiredis-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY proto proto
COPY service service
COPY client client
COPY common common
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATHER_BUILD_TESTS=OFF \
      -DGATHER_WERROR=OFF \
 && cmake --build /build -j "${JOBS}" --target gatherd gather \
 && strip /build/bin/gatherd /build/bin/gather

FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libgrpc++1.51 libprotobuf32 libabsl20220623 libcurl4 libsimdjson14 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libhiredis0.14 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gatherd \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin gatherd
COPY --from=build /build/bin/gatherd /build/bin/gather /usr/local/bin/
USER 10001:10001
# gRPC and the Prometheus page on every interface of the container (flags override these).
ENV GATHERD_LISTEN=0.0.0.0:50051 \
    GATHERD_METRICS_LISTEN=0.0.0.0:9090
EXPOSE 50051 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gatherd"]
