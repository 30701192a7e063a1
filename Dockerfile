# todayis: the "Today Is..." bot. Multi-stage: build a statically linked binary
# with the Rust toolchain, then ship it alone on `scratch`: no shell, no libc, no
# package manager; only the binary, the shipped posts and a config, as uid 10001.

FROM docker.io/library/rust:1-slim-bookworm AS build
WORKDIR /src
# Static with glibc (2.36 here): since 2.34 its `files` and `dns` lookups are built
# in, so name resolution needs no NSS module at run time. --target keeps crt-static
# off the build scripts and proc-macros, which must stay dynamic.
ENV RUSTFLAGS="-C target-feature=+crt-static"
# One codegen unit and whole-program LTO: 1.7 MB smaller (the image stays well
# under 15 MiB) for about 40 s more when our code changes.
ENV CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
# Dependencies first, in a layer of their own: it is rebuilt only when
# Cargo.toml or Cargo.lock change, not with every change to our code.
COPY Cargo.toml Cargo.lock ./
RUN target=$(rustc -vV | sed -n 's/^host: //p') && echo "$target" > /target \
    && mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --target "$target" \
    && rm -rf src
COPY src ./src
# Newer mtimes than the stub's build, so cargo rebuilds our crate. Then the files
# of the final image: the binary (checked to need no shared library), the user the
# daemon runs as (so that `ps` and `podman top` name it), and host names from
# /etc/hosts first, then DNS (no other NSS source exists in the image).
RUN target=$(cat /target) && touch src/main.rs src/lib.rs \
    && cargo build --release --locked --target "$target" \
    && mkdir -p /out/bin /out/etc /out/data \
    && cp "target/$target/release/todayis" /out/bin/todayis && strip /out/bin/todayis \
    && ! readelf -d /out/bin/todayis | grep -q NEEDED \
    && /out/bin/todayis --version \
    && echo 'todayis:x:10001:10001:todayis:/data:/nonexistent' > /out/etc/passwd \
    && echo 'todayis:x:10001:' > /out/etc/group \
    && printf 'passwd: files\ngroup: files\nhosts: files dns\n' > /out/etc/nsswitch.conf

FROM scratch
# No CA bundle: TLS is rustls with its own roots. No tzdata: the zones are compiled
# in, and the bot's zone is the config's. /etc/hosts and /etc/resolv.conf come from
# the container engine.
COPY --from=build /out/etc/ /etc/
COPY --from=build /out/bin/todayis /usr/local/bin/todayis
# The journal (/data/state) and the feed (/data/public): the only writes.
COPY --from=build --chown=10001:10001 /out/data/ /data/
# The shipped library and a config for the container, so that
# `docker run IMAGE preview` works with no mounts.
COPY posts /app/posts
COPY config/container.toml /app/config/todayis.toml
ENV PATH=/usr/local/bin TODAYIS_CONFIG=/app/config/todayis.toml
WORKDIR /app
USER 10001:10001
VOLUME /data
EXPOSE 8080
ARG VERSION=0.1.0
ARG SOURCE=https://todayis.example/source
LABEL org.opencontainers.image.title="todayis" \
      org.opencontainers.image.description="The \"Today Is...\" history blog's social-media bot" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.source="$SOURCE"
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/todayis", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/todayis"]
CMD ["run"]
