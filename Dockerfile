# One image for every ContactPoint process (brokers, services, the CLI for health checks).
# Built with the same commands as the README: scripts/install-dependencies.sh, then swift build.

FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY scripts/install-dependencies.sh scripts/
RUN scripts/install-dependencies.sh
COPY . .
RUN swift build -c release --static-swift-stdlib \
    && mkdir /out \
    && cp "$(swift build -c release --show-bin-path)"/contactpoint* /out/ \
    && cp -R "$(swift build -c release --show-bin-path)"/*.resources /out/ \
    && rm -f /out/*.swiftmodule /out/*.swiftdoc

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libzmq5 libssl3 libsqlite3-0 libqrencode4 libjemalloc2 tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/contactpoint --create-home contactpoint
COPY --from=build /out/ /usr/local/bin/
USER contactpoint
WORKDIR /var/lib/contactpoint
# SIGTERM starts the graceful drain (see stop_grace_period in docker-compose.yml).
STOPSIGNAL SIGTERM
CMD ["contactpoint", "--help"]
