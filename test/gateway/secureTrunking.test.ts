// Secure trunking (issue 15, item 5): SIP over TLS and SRTP (SDES, RFC 4568)
// on phone legs, both ways, with real baresip softphones that require SRTP
// (mediaenc srtp-mand: they offer and accept only RTP/SAVP). The gateway runs
// from its entry point (gateway/main.ts) on a host of its own; the phones on
// another; the bridge in this process, reached at the test network's address.
// A caller dials the room over TLS; a moderator invites a number, which the
// gateway dials over a `transport=tls` trunk to the second phone, checking
// that phone's certificate. Each phone hears the other's tone and not its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { DialOutCall } from '../../protocol/protocol.ts';
import { toneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { withGateway } from '../helpers/gateway.ts';
import { TestNetwork, type TestHost } from '../helpers/hosts.ts';
import { freePort } from '../helpers/ports.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { TestCa } from '../helpers/testCa.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOM = 'vault';
const TONES = { caller: 600, callee: 900 } as const;
const SIP_TLS_PORT = 5061;

describe('secure trunking: SIP over TLS with SRTP, calling in and dialing out', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secure-trunking-'));
  let network: TestNetwork;
  let gatewayHost: TestHost;
  let phonesHost: TestHost;
  let bridge: Bridge;
  let gateway: ServiceProcess;
  let host: Joined;
  let ca: TestCa;
  const phones: Baresip[] = [];
  let callee: Baresip;

  beforeAll(async () => {
    network = await TestNetwork.create({ id: 'sectls', subnet: '198.18.16' });
    gatewayHost = await network.addHost('gateway', 1);
    phonesHost = await network.addHost('phones', 10);
    ca = await TestCa.create(path.join(dir, 'ca'));
    const gatewayCert = await ca.issue(gatewayHost.address);
    // baresip wants its certificate and key in one file.
    const calleeCert = await ca.issue(phonesHost.address);
    const calleePem = path.join(dir, 'callee.pem');
    fs.writeFileSync(calleePem, fs.readFileSync(calleeCert.cert, 'utf8') + fs.readFileSync(calleeCert.key, 'utf8'));
    for (const party of ['caller', 'callee'] as const) writeToneWav(path.join(dir, `${party}.wav`), TONES[party], 120);

    const runner = network.runnerAddress;
    bridge = await startBridge({
      HTTP_HOST: runner,
      HTTP_PORT: String(await freePort()),
      MEDIA_LISTEN_IP: runner,
      MEDIA_ANNOUNCED_ADDRESS: runner,
      DIAL_OUT_ALLOWED_PREFIXES: '+1555',
    });
    callee = await Baresip.start({ microphone: path.join(dir, 'callee.wav'), host: phonesHost, secure: { ca: ca.certificate, certificate: calleePem }, autoAnswer: true, user: '+15550100199' });
    phones.push(callee);
    gateway = ServiceProcess.start(gatewayHost, 'gateway', process.execPath, ['gateway/main.ts'], {
      BRIDGE_URL: bridge.url,
      SERVICE_SECRET: TEST_SERVICE_SECRET,
      SIP_TLS_CERT: gatewayCert.cert,
      SIP_TLS_KEY: gatewayCert.key,
      // The trunk's certificate is checked against this CA; the trunk is named by address.
      SIP_TLS_CA: ca.certificate,
      SIP_TRUNK_URI: `sip:${phonesHost.address}:${callee.sipPort + 1};transport=tls`,
      // The test network's addresses are not among the private ranges allowed by default.
      SIP_ALLOWED_SOURCES: '198.18.0.0/15',
    });
    await gateway.waitForLog('SIP gateway ready');
    host = await joinRoom(bridge.url, ROOM, 'Host', 'web');
  }, 60_000);

  afterAll(async () => {
    for (const phone of phones) await phone.stop().catch(() => {});
    host?.client.close();
    await gateway?.stop();
    await bridge?.stop();
    await network?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The phone's share of each party's tone over its last two seconds. */
  const hears = (phone: Baresip) => {
    const { samples, sampleRate } = phone.recentAudio(2);
    return { caller: toneShare(samples, sampleRate, TONES.caller), callee: toneShare(samples, sampleRate, TONES.callee) };
  };

  it('presents its certificate on the TLS port, which a client trusting the CA accepts', async () => {
    const socket = tls.connect({ host: gatewayHost.address, port: SIP_TLS_PORT, ca: fs.readFileSync(ca.certificate) });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate().subjectaltname).toContain(gatewayHost.address);
    socket.destroy();
  });

  it('takes a call over TLS with SRTP, dials out over a TLS trunk with SRTP, and each phone hears the other', async () => {
    const caller = await Baresip.start({ microphone: path.join(dir, 'caller.wav'), host: phonesHost, secure: { ca: ca.certificate } });
    phones.push(caller);
    caller.dial(`sip:${ROOM}@${gatewayHost.address}:${SIP_TLS_PORT};transport=tls`);
    await caller.waitForEvent('CALL_ESTABLISHED', 20_000);
    await waitFor('the caller in the room', () => bridge.registry.get(ROOM)?.visiblePeers().some((p) => p.kind === 'phone'), 15_000);

    const { call } = await host.client.request('dialOut', { number: '+1 555 010-0199' });
    expect(call.state).toBe('calling');
    await callee.waitForEvent('CALL_ESTABLISHED', 20_000);
    await waitFor('both phones in the room', () => bridge.registry.get(ROOM)?.visiblePeers().filter((p) => p.kind === 'phone').length === 2, 15_000);

    // Each phone says it keys SRTP (it would refuse anything else: srtp-mand).
    for (const phone of [caller, callee]) expect(phone.output).toContain('SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)');
    for (const [me, phone, other] of [['caller', caller, 'callee'], ['callee', callee, 'caller']] as const) {
      const shares = await waitFor(`the ${me} to hear the ${other} and not itself`, () => {
        const heard = hears(phone);
        return heard[other] > 0.3 && heard[me] < 0.05 ? heard : null;
      }, 20_000, 500);
      console.log(`the ${me} hears`, shares);
    }
  }, 90_000);

  it('does not call a trunk whose certificate no trusted CA issued: the handshake is abandoned, no SIP is sent', async () => {
    // A trunk of its own, on this host, for a gateway and bridge of their own (the dial-out must come to this gateway).
    const stranger = await TestCa.create(path.join(dir, 'stranger-ca'), 'Nobody Trusts This CA');
    const impostor = await stranger.issue('127.0.0.1');
    const handshakes: string[] = [];
    const trunk = tls.createServer({ cert: fs.readFileSync(impostor.cert), key: fs.readFileSync(impostor.key) });
    trunk.on('secureConnection', (socket) => {
      handshakes.push('completed');
      socket.destroy();
    });
    trunk.on('tlsClientError', (error) => handshakes.push(`refused: ${error.message}`));
    await new Promise<void>((resolve) => trunk.listen(0, '127.0.0.1', resolve));
    const trunkPort = (trunk.address() as { port: number }).port;
    const ownBridge = await startBridge({ DIAL_OUT_ALLOWED_PREFIXES: '+1555' });
    try {
      await withGateway(ownBridge, { SIP_TRUNK_URI: `sip:127.0.0.1:${trunkPort};transport=tls`, SIP_TLS_CA: ca.certificate }, async () => {
        const moderator = await joinRoom(ownBridge.url, 'elsewhere', 'Host', 'web');
        const updates: DialOutCall[] = [];
        moderator.client.on('dialOutUpdated', ({ call }) => updates.push(call));
        await moderator.client.request('dialOut', { number: '+1 555 010-0199' });
        const failed = await waitFor('the dial-out to fail', () => updates.find((u) => u.state === 'failed'), 20_000);
        console.log('dial-out to an untrusted trunk', failed, handshakes);
        expect(handshakes.length).toBeGreaterThan(0);
        expect(handshakes).not.toContain('completed');
        moderator.client.close();
      });
    } finally {
      await ownBridge.stop();
      trunk.close();
    }
  }, 60_000);
});
