# Sitrep: one binary with SQLite inside. Build: docker build -t sitrep .
# Run:   docker run -p 8080:8080 -v sitrep-data:/data sitrep

# Build stage. cgo is on because SQLite (mattn/go-sqlite3) is C.
FROM golang:1.26-bookworm AS build
ENV CGO_ENABLED=1
WORKDIR /src
# Modules first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Templates and static files are embedded, so the binary is all we ship.
RUN go build -trimpath -ldflags="-s -w" -o /out/sitrep ./server

# Runtime stage: the builder's Debian release, so the binary finds the glibc
# it was linked against. ca-certificates for outgoing HTTPS, nothing else.
FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
# A fixed, non-root uid/gid, so volume permissions are predictable. /data is
# created and owned before VOLUME: a new volume copies that ownership.
RUN groupadd --gid 10001 sitrep \
	&& useradd --no-log-init --uid 10001 --gid 10001 \
		--home-dir /data --no-create-home --shell /usr/sbin/nologin sitrep \
	&& mkdir /data \
	&& chown 10001:10001 /data
COPY --from=build /out/sitrep /usr/local/bin/sitrep
ENV SITREP_DB=/data/sitrep.db SITREP_ADDR=:8080
# Numeric, so platforms that check "runs as non-root" can verify it.
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sitrep"]
CMD ["serve"]
