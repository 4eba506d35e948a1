// ArrivalLog's thread: one UDP socket on an event loop of its own, so a
// packet is stamped as its own wake-up reads it, never queued behind another
// socket's packets read in the same turn of a shared loop.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { parseRtp } from '../../media/rtp.ts';
import { wallClockMs } from './stats.ts';

const { address } = workerData as { address: string };
const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
socket.on('message', (message) => {
  const at = wallClockMs();
  const rtp = parseRtp(message);
  // RTCP and mediasoup's bandwidth probation (payload type 127) carry no index.
  if (!rtp || rtp.payloadType === 127 || rtp.payload.length < 4) return;
  parentPort!.postMessage({ index: rtp.payload.readUInt32BE(0), at });
});
socket.bind(0, address, () => parentPort!.postMessage({ port: (socket.address() as AddressInfo).port }));
