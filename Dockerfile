# syntax=docker/dockerfile:1
# Front-end packages from the npm registry (pinned by package-lock.json).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# The Go build: pure Go (modernc SQLite), so CGO is off and the binary static.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=frontend /src/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/swapdesk ./cmd/swapdesk \
 && mkdir -p /out/data

# The runtime image, running as an unprivileged user. Debian slim rather than
# distroless: it carries ffmpeg, which makes posters and preview clips
# (without it Swapdesk works and shows character images instead).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --home-dir /data --shell /usr/sbin/nologin nonroot
COPY --from=build /out/swapdesk /usr/local/bin/swapdesk
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV SWAPDESK_ADDR=:8080 \
    SWAPDESK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/swapdesk"]
CMD ["serve"]
