# A minimal image of portcullis: the release binary and the four glibc files it links, on
# `scratch` (no shell, no package manager, no base image to download). x86_64 only.
#
# The binary is built outside the image (no Rust image is pulled), then it and the libraries
# ldd finds are staged in target/docker/, the only part of target/ the build reads
# (.dockerignore); from the repository root:
#
#   cargo build --release --bin portcullis
#   mkdir -p target/docker
#   cp -L target/release/portcullis $(ldd target/release/portcullis | grep -o '/[^ ]*') target/docker/
#   docker build -t portcullis .
#
# Should ldd ever list another library, the build still succeeds but the binary will not
# start (.ci/run runs `check` in the image, which would fail): add the library below.
# The image runs as uid 65532 and reads /etc/portcullis/providers.toml; mount yours there,
# with `listen = "0.0.0.0:4180"` (the dev provider only runs on loopback, i.e. with
# `--network host`), and pass the secrets that its ${VAR}s name as environment variables:
#
#   docker run -d --name portcullis -p 4180:4180 --stop-timeout 40 \
#       -v /etc/portcullis:/etc/portcullis:ro --env-file /etc/portcullis/portcullis.env portcullis
#   docker run --rm -v /etc/portcullis:/etc/portcullis:ro --env-file ... portcullis check
#
# `--stop-timeout 40`: on SIGTERM the gateway lets requests finish for up to
# server.shutdown_timeout (default 30s); Docker's default of 10s would SIGKILL it first.
# Providers and https upstreams are checked against the web PKI roots built into the binary;
# a rediss:// Redis against the system's CA store, which this image lacks: mount one with
# `-v /etc/ssl/certs:/etc/ssl/certs:ro`.
# Health: GET /ping (alive) and /ready (providers discovered, Redis answering); there is no
# shell or curl inside for a HEALTHCHECK, so let the orchestrator probe them.

FROM scratch

COPY target/docker/ld-linux-x86-64.so.2 /lib64/
COPY target/docker/libc.so.6 target/docker/libm.so.6 target/docker/libgcc_s.so.1 /lib/x86_64-linux-gnu/
COPY examples/docker/nsswitch.conf /etc/nsswitch.conf
COPY target/docker/portcullis /usr/local/bin/portcullis

ENV PORTCULLIS_CONFIG=/etc/portcullis/providers.toml
USER 65532:65532
EXPOSE 4180
ENTRYPOINT ["/usr/local/bin/portcullis"]
