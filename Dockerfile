# syntax=docker/dockerfile:1
# One Dockerfile, one target per service. The build context is the repository root:
#   docker build --target rng    -t ramcoin/rng .
#   docker build --target hasher -t ramcoin/hasher .
#   docker build --target worker -t ramcoin/worker .
#   docker build --target webui  -t ramcoin/webui .
#   docker build --target store  -t ramcoin/store .     (optional: Garnet instead of the official redis image)
# rng, hasher, worker and webui are Native AOT binaries on Ubuntu chiseled runtime-deps: no shell, no package
# manager, no .NET runtime, a non-root user. Native AOT compiles for the machine it runs on, so each platform
# is built natively (amd64 and arm64 runners in CI), not under emulation.

ARG DOTNET_VERSION=10.0

# ---- restore: project files only, so this layer is reused until a project file or package version changes.
# TARGETARCH (BuildKit, kaniko) names the platform; the classic builder leaves it empty, and Native AOT compiles for the
# build machine's own architecture anyway.
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble-aot AS restore
ARG TARGETARCH
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Directory.Build.props src/Directory.Build.targets src/
COPY src/RamCoin.Hosting/RamCoin.Hosting.csproj src/RamCoin.Hosting/
COPY src/RamCoin.Lessons/RamCoin.Lessons.csproj src/RamCoin.Lessons/
COPY src/RamCoin.StoreContract/RamCoin.StoreContract.csproj src/RamCoin.StoreContract/
COPY src/RamCoin.Rng/RamCoin.Rng.csproj src/RamCoin.Rng/
COPY src/RamCoin.Hasher/RamCoin.Hasher.csproj src/RamCoin.Hasher/
COPY src/RamCoin.Worker/RamCoin.Worker.csproj src/RamCoin.Worker/
COPY src/RamCoin.WebUI/RamCoin.WebUI.csproj src/RamCoin.WebUI/
RUN RID=linux-$(case "${TARGETARCH:-$(uname -m)}" in arm64|aarch64) echo arm64 ;; *) echo x64 ;; esac) \
    && for service in Rng Hasher Worker WebUI; do dotnet restore src/RamCoin.$service/RamCoin.$service.csproj -r $RID || exit 1; done

# ---- publish: the four services as native binaries, in /out/<service>
# No VERSION here: the binaries are the same for every tag, so a new tag reuses this layer and only the final
# stage (RAMCOIN_VERSION) changes.
FROM restore AS publish
ARG TARGETARCH
COPY src/RamCoin.Hosting/ src/RamCoin.Hosting/
COPY src/RamCoin.Lessons/ src/RamCoin.Lessons/
COPY src/RamCoin.StoreContract/ src/RamCoin.StoreContract/
COPY src/RamCoin.Rng/ src/RamCoin.Rng/
COPY src/RamCoin.Hasher/ src/RamCoin.Hasher/
COPY src/RamCoin.Worker/ src/RamCoin.Worker/
COPY src/RamCoin.WebUI/ src/RamCoin.WebUI/
RUN RID=linux-$(case "${TARGETARCH:-$(uname -m)}" in arm64|aarch64) echo arm64 ;; *) echo x64 ;; esac) \
    && for service in Rng Hasher Worker WebUI; do \
         dotnet publish src/RamCoin.$service/RamCoin.$service.csproj --no-restore -c Release -r $RID \
           -p:DebugType=none -o /out/$(echo $service | tr A-Z a-z) || exit 1; \
       done \
    && rm -f /out/*/*.dbg /out/*/*.pdb
# A static helper that gives a binary the file capability NET_BIND_SERVICE (deploy/images/grant-port-80.c): each
# service stage runs it on its binary, since the classic builder's COPY drops the capability.
COPY deploy/images/grant-port-80.c /src/
RUN clang -static -Os -o /out/grant-port-80 /src/grant-port-80.c

# ---- the base of every service image
FROM mcr.microsoft.com/dotnet/runtime-deps:${DOTNET_VERSION}-noble-chiseled AS service
ARG VERSION=0.1.0
WORKDIR /app
# Port 80 as in DockerCoins, as a non-root user: Docker (20.10+) sets the container's
# net.ipv4.ip_unprivileged_port_start to 0, our Kubernetes pods set that sysctl, and elsewhere (containerd before 2.0,
# CRI-O: the course's plain pods) the binary's file capability NET_BIND_SERVICE lets it bind the port. A container
# that drops every capability must keep that one (--cap-add NET_BIND_SERVICE; the Kubernetes files do), or the binary
# cannot start.
ENV ASPNETCORE_HTTP_PORTS=80 \
    RAMCOIN_VERSION=${VERSION}
EXPOSE 80
USER $APP_UID

FROM service AS rng
COPY --from=publish /out/rng/RamCoin.Rng /app/
COPY --from=publish /out/grant-port-80 /tmp/
USER 0
RUN ["/tmp/grant-port-80", "/app/RamCoin.Rng"]
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/app/RamCoin.Rng", "healthcheck"]
ENTRYPOINT ["/app/RamCoin.Rng"]

FROM service AS hasher
COPY --from=publish /out/hasher/RamCoin.Hasher /app/
COPY --from=publish /out/grant-port-80 /tmp/
USER 0
RUN ["/tmp/grant-port-80", "/app/RamCoin.Hasher"]
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/app/RamCoin.Hasher", "healthcheck"]
ENTRYPOINT ["/app/RamCoin.Hasher"]

FROM service AS worker
COPY --from=publish /out/worker/RamCoin.Worker /app/
COPY --from=publish /out/grant-port-80 /tmp/
USER 0
RUN ["/tmp/grant-port-80", "/app/RamCoin.Worker"]
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/app/RamCoin.Worker", "healthcheck"]
ENTRYPOINT ["/app/RamCoin.Worker"]

FROM service AS webui
COPY --from=publish /out/webui/RamCoin.WebUI /app/
COPY --from=publish /out/grant-port-80 /tmp/
USER 0
RUN ["/tmp/grant-port-80", "/app/RamCoin.WebUI"]
USER $APP_UID
# The page's files, where the web UI serves them from (WEBUI_FILES): the compose file mounts
# src/RamCoin.WebUI/files here for the course's live edit.
COPY --from=publish /out/webui/webui/ /app/webui/
ENV WEBUI_FILES=/app/webui
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/app/RamCoin.WebUI", "healthcheck"]
ENTRYPOINT ["/app/RamCoin.WebUI"]

# ---- store: the store's own program, an embedded Garnet (JIT: Garnet is not AOT-ready), persisting to /data with an AOF
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}-noble AS publish-store
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
RUN dotnet publish src/RamCoin.Store/RamCoin.Store.csproj -c Release -p:DebugType=none -o /out/store \
    && mkdir -p /out/data

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble-chiseled AS store
ARG VERSION=0.1.0
WORKDIR /app
COPY --from=publish-store /out/store/ /app/
COPY --from=publish-store --chown=$APP_UID:$APP_UID /out/data/ /data/
# Listening on the container's network, the store refuses to start without REDIS_PASSWORD (exit 2, saying why);
# RAMCOIN_ALLOW_OPEN_STORE=true runs it open, on a network you trust.
ENV RAMCOIN_BIND=0.0.0.0 \
    RAMCOIN_DATA_DIR=/data \
    RAMCOIN_VERSION=${VERSION}
VOLUME /data
EXPOSE 6379
USER $APP_UID
# A RESP PING on its own port (AUTH with REDIS_PASSWORD): the image has no redis-cli. Each check starts the runtime.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["dotnet", "/app/RamCoin.Store.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "/app/RamCoin.Store.dll"]
