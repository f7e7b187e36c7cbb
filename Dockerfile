# The bookstore image: the one `bookstore` binary on a small base, running as a non-root user.
#
#   docker build -t bookstore:dev .                      # compile from source (default)
#   docker build --build-arg BINARY=prebuilt -t bookstore:dev .
#                                                        # package dist/bookstore, built on the host
#
# Works with BuildKit and with the legacy builder (DOCKER_BUILDKIT=0), which builds every stage:
# with BINARY=prebuilt no stage compiles anything, so RUST_IMAGE only has to provide a POSIX shell,
# mkdir and cp (CI points it at a locally made image; see docs/images.md).
# The base images are public images, replaceable with mirrors or pinned digests:
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# The workspace's manifests with placeholder sources: everything the dependencies' build depends
# on and nothing else, so editing the code does not rebuild them.
FROM ${RUST_IMAGE} AS skeleton
ARG BINARY=build
# Marks the build stages' images, which the legacy builder keeps as cache: around a prebuilt binary
# they are only copies of it, and a unique BUILD_ID lets that build prune exactly its own.
ARG BUILD_ID=
LABEL bookstore.build-stage="${BINARY}" bookstore.build-id="${BUILD_ID}"
WORKDIR /src
COPY . .
RUN mkdir -p /skeleton \
    && if [ "$BINARY" = build ]; then \
        find . -name target -prune -o -type f \( -name Cargo.toml -o -name Cargo.lock \
            -o -name rust-toolchain.toml -o -path ./.cargo/config.toml \) \
            -exec cp --parents -t /skeleton {} + \
        && find . -name target -prune -o -type f -name '*.rs' -exec sh -c \
            'for f; do mkdir -p "/skeleton/${f%/*}" && echo "fn main() { }" > "/skeleton/$f"; done' \
            sh {} + ; \
    fi

# ---------------------------------------------------------------------------------------------
# The binary (and the CA bundle the image ships) in /out.
FROM ${RUST_IMAGE} AS build
ARG BINARY=build
ARG BUILD_ID=
LABEL bookstore.build-stage="${BINARY}" bookstore.build-id="${BUILD_ID}"
ENV CARGO_TERM_COLOR=never
# The release profile's line tables would make the binary about four times larger; the image's
# keeps its symbols (function names in backtraces). `line-tables-only` keeps them too.
ARG CARGO_PROFILE_RELEASE_DEBUG=none
WORKDIR /src
# 1. Dependencies only, from the skeleton: cached until a manifest or Cargo.lock changes.
COPY --from=skeleton /skeleton/ ./
RUN if [ "$BINARY" = build ]; then \
        cargo build --release --locked --package bookstore; \
    fi
# 2. The workspace itself. Sources are touched so cargo rebuilds the placeholders.
COPY . .
# Recorded in the binary's build info (services/bookstore/build.rs, which reads it from the
# environment): the context has no .git. Declared here so a new commit keeps step 1 cached.
ARG BOOKSTORE_GIT_COMMIT=unknown
RUN mkdir -p /out/data \
    && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt \
    && case "$BINARY" in \
        build) \
            find . -name target -prune -o -name '*.rs' -type f -exec touch {} + \
            && cargo build --release --locked --package bookstore \
            && cp target/release/bookstore /out/bookstore ;; \
        prebuilt) \
            cp dist/bookstore /out/bookstore ;; \
        *) \
            echo "BINARY must be build or prebuilt, not '$BINARY'" >&2; exit 1 ;; \
    esac

# ---------------------------------------------------------------------------------------------
# The image: the binary, CA certificates, and an empty data folder owned by the runtime user.
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=dev
ARG BOOKSTORE_GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="bookstore" \
      org.opencontainers.image.description="The bookstore shop: all components in one process, or one component per container." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${BOOKSTORE_GIT_COMMIT}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/data /var/lib/bookstore
COPY --from=build /out/bookstore /usr/local/bin/bookstore
# `bookstore all` keeps its SQLite database, signing key and bootstrap password here; mount a
# volume (or a tmpfs) on it. Nothing else is written, so the root file system can be read-only.
ENV BOOKSTORE_LISTEN=0.0.0.0:8080 \
    BOOKSTORE_DATA_DIR=/var/lib/bookstore \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
VOLUME ["/var/lib/bookstore"]
WORKDIR /var/lib/bookstore
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/bookstore"]
CMD ["all"]
