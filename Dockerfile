# The llm-proxy release image. Nothing is compiled here: the release builds a
# static binary per platform into dist/<os>-<arch>/ first, and buildx picks the
# one for each target platform through TARGETOS and TARGETARCH, so a
# multi-platform image needs no emulation and holds exactly the tested binaries.
FROM scratch

# Set by buildx for each platform in --platform, e.g. linux and arm64.
ARG TARGETOS
ARG TARGETARCH
# Stamped by the release into the OCI labels; the defaults mark a local build.
ARG VERSION=v0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/sofatutor/llm-proxy

LABEL org.opencontainers.image.title="llm-proxy" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"

COPY --chmod=0555 dist/${TARGETOS}-${TARGETARCH}/llm-proxy /llm-proxy

# The distroless "nonroot" uid and gid, matching the chart's securityContext.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/llm-proxy"]
# Loopback is the binary's default; a container must listen on all interfaces.
CMD ["serve", "--listen", "0.0.0.0:8080"]
