// The worker's SRTP runs on Debian's libsrtp 2.5 through an adapter
// (scripts/mediasoup-worker/standins/libsrtp3/adapter/srtp.h). This checks
// every crypto suite mediasoup offers by sending RTP through an encrypting
// plain transport into a decrypting one and comparing what comes out.
import * as mediasoup from 'mediasoup';
import type { Router, SrtpCryptoSuite, Worker } from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaCodecs } from '../../bridge/media/codecs.ts';
import { RtpReceiver, RtpSender } from '../helpers/rtp.ts';
import { waitFor } from '../helpers/wait.ts';

const SUITES: SrtpCryptoSuite[] = ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];
const listenInfo = { protocol: 'udp' as const, ip: '127.0.0.1' };
const OPUS = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };

describe('SRTP through the libsrtp adapter', () => {
  let worker: Worker;
  let router: Router;

  beforeAll(async () => {
    worker = await mediasoup.createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs });
  });
  afterAll(() => worker?.close());

  /**
   * socket -> [plain in] -> producer -> consumer -> [SRTP out] ==> [SRTP in] -> producer -> consumer -> [plain out] -> socket
   * With `wrongKey`, the receiving side expects another sender's key.
   */
  async function srtpChain(suite: SrtpCryptoSuite, ssrc: number, wrongKey = false) {
    const plainIn = await router.createPlainTransport({ listenInfo, comedia: true });
    const sender = new RtpSender();
    await sender.bind();
    sender.start({ ip: '127.0.0.1', port: plainIn.tuple.localPort }, { payloadType: 100, ssrc });
    const source = await plainIn.produce({ kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc }] } });

    const srtpOut = await router.createPlainTransport({ listenInfo, enableSrtp: true, srtpCryptoSuite: suite });
    const srtpIn = await router.createPlainTransport({ listenInfo, enableSrtp: true, srtpCryptoSuite: suite, comedia: true });
    const stranger = await router.createPlainTransport({ listenInfo, enableSrtp: true, srtpCryptoSuite: suite });
    await srtpOut.connect({ ip: '127.0.0.1', port: srtpIn.tuple.localPort, srtpParameters: srtpIn.srtpParameters });
    await srtpIn.connect({ srtpParameters: (wrongKey ? stranger : srtpOut).srtpParameters });
    const encrypted = await srtpOut.consume({ producerId: source.id, rtpCapabilities: router.rtpCapabilities });
    const decrypted = await srtpIn.produce({ kind: 'audio', rtpParameters: encrypted.rtpParameters });

    const receiver = new RtpReceiver();
    const port = await receiver.bind();
    const plainOut = await router.createPlainTransport({ listenInfo });
    await plainOut.connect({ ip: '127.0.0.1', port });
    await plainOut.consume({ producerId: decrypted.id, rtpCapabilities: router.rtpCapabilities });
    return {
      receiver,
      srtpIn,
      close() {
        sender.close();
        receiver.close();
        for (const t of [plainIn, srtpOut, srtpIn, stranger, plainOut]) t.close();
      },
    };
  }

  it.each(SUITES)('%s: RTP encrypted by one transport is decrypted by the next, payloads intact', async (suite) => {
    const chain = await srtpChain(suite, 9001);
    await waitFor(`packets through ${suite}`, () => chain.receiver.count >= 25);
    for (const packet of chain.receiver.packets) {
      expect(packet.payload.length).toBe(60);
      expect(packet.payload.subarray(4).every((b) => b === 0x55)).toBe(true);
    }
    chain.close();
  });

  it('drops packets encrypted with the wrong key', async () => {
    const chain = await srtpChain('AES_CM_128_HMAC_SHA1_80', 9002, true);
    // The encrypted stream does arrive (25 packets' worth); none of it may come out.
    await waitFor('encrypted bytes at the receiving transport', async () => (await chain.srtpIn.getStats())[0]!.bytesReceived > 25 * 60);
    expect(chain.receiver.count).toBe(0);
    expect((await chain.srtpIn.getStats())[0]!.rtpBytesReceived).toBe(0);
    chain.close();
  });
});
