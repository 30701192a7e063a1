# todayis: the "Today Is..." bot. Multi-stage: build with the Rust toolchain, run
# on a small Debian with no compiler, as a non-root user.

FROM docker.io/library/rust:1-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when
# Cargo.toml or Cargo.lock change, not with every change to our code.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src ./src
# Newer mtimes than the stub's build, so cargo rebuilds our crate.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked && strip target/release/todayis

FROM docker.io/library/debian:bookworm-slim
# No CA bundle is needed: TLS uses rustls with its own roots. No tzdata either:
# the zones are compiled in, and the bot's zone is the config's, not the host's.
RUN echo 'todayis:x:10001:10001:todayis:/data:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'todayis:x:10001:' >> /etc/group \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /src/target/release/todayis /usr/local/bin/todayis
# The shipped library and a config for the container, so that
# `docker run IMAGE preview` works with no mounts.
COPY posts /app/posts
COPY config/container.toml /app/config/todayis.toml
ENV TODAYIS_CONFIG=/app/config/todayis.toml
WORKDIR /app
USER 10001:10001
# The journal (/data/state) and the feed (/data/public): the only writes.
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["todayis", "healthcheck"]
ENTRYPOINT ["todayis"]
CMD ["run"]
