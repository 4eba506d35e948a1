// The baseline: the same routing as a room, built directly on mediasoup with
// no signaling, no room layer and no speaker detection. Driven by sfuLoad.ts
// over IPC.
import * as mediasoup from 'mediasoup';
import type { Producer } from 'mediasoup/types';
import { mediaCodecs } from '../bridge/media/codecs.ts';
import { AUDIO_RTP_PARAMETERS, VIDEO_RTP_PARAMETERS } from './lib/syntheticMedia.ts';

export interface BareSetup {
  senders: { audioSsrc: number; videoSsrc: number }[];
  receiverPorts: number[];
}

const worker = await mediasoup.createWorker({ logLevel: 'warn' });
const router = await worker.createRouter({ mediaCodecs });
const listenInfo = { protocol: 'udp' as const, ip: '127.0.0.1' };

process.on('message', async (setup: BareSetup) => {
  const producers: Producer[] = [];
  const targets: { ip: string; port: number }[] = [];
  for (const sender of setup.senders) {
    const transport = await router.createPlainTransport({ listenInfo, comedia: true, rtcpMux: true });
    producers.push(await transport.produce({ kind: 'audio', rtpParameters: AUDIO_RTP_PARAMETERS(sender.audioSsrc) }));
    producers.push(await transport.produce({ kind: 'video', rtpParameters: VIDEO_RTP_PARAMETERS(sender.videoSsrc) }));
    targets.push({ ip: transport.tuple.localAddress, port: transport.tuple.localPort });
  }
  for (const port of setup.receiverPorts) {
    const transport = await router.createPlainTransport({ listenInfo, comedia: false, rtcpMux: true });
    await transport.connect({ ip: '127.0.0.1', port });
    for (const producer of producers) {
      await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    }
  }
  process.send!({ workerPid: worker.pid, targets });
});
process.send!({ ready: true });
