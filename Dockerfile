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

# A small runtime image, running as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/swapdesk /usr/local/bin/swapdesk
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV SWAPDESK_ADDR=:8080 \
    SWAPDESK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/swapdesk"]
CMD ["serve"]
