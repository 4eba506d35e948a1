# The app image: bridge, SIP gateway and recorder on Debian 12, with mediasoup's
# worker built from source against Debian's libraries. The recorder runs
# Chromium on Xvfb with a PulseAudio sink and ffmpeg; redis-server is for the
# all-in-one (CMD), which starts its own when REDIS_URL is unset.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates nodejs npm \
      g++ make meson ninja-build pkg-config python3-invoke \
      libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev nlohmann-json3-dev libabsl-dev \
      libflatbuffers-dev flatbuffers-compiler liburing-dev \
      chromium ffmpeg espeak-ng sox xvfb pulseaudio redis-server \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
# Debian's npm 9 does not know package.json "allowScripts"; the variable also
# keeps mediasoup's own postinstall from trying to download a worker.
RUN MEDIASOUP_WORKER_BIN=/nonexistent npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm run prompts

ENV HTTP_PORT=8080
EXPOSE 8080 5060/udp 5060/tcp
# The all-in-one; compose runs each service on its own (bridge/main.ts,
# gateway/main.ts, recorder/main.ts).
CMD ["npm", "start"]
