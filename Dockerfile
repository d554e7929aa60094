# leadgate: multi-stage build, small runtime image, non-root user; config and data are volumes.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Connectors are embedded in the binary; the bench target is declared in Cargo.toml.
COPY connectors ./connectors
COPY benches ./benches
RUN cargo build --release --locked --bin leadgate

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/leadgate leadgate
COPY --from=build /src/target/release/leadgate /usr/local/bin/leadgate
COPY config /etc/leadgate
WORKDIR /var/lib/leadgate
RUN mkdir -p /var/lib/leadgate/data && chown -R leadgate /var/lib/leadgate
USER leadgate
ENV LEADGATE__SERVER__LISTEN=0.0.0.0:8080
VOLUME ["/etc/leadgate", "/var/lib/leadgate/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/leadgate"]
CMD ["run", "--config", "/etc/leadgate/leadgate.toml"]
