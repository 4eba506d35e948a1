// The quick start as a user meets it: `npm start` on a server, reached at the
// server's own address from another host, as the README says. Nobody but the
// server itself uses its loopback, so every address a service announces to
// another is put to the test (the gateway once announced 127.0.0.1 and sent
// from the server's LAN address, and the bridge dropped the callers' voices).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestNetwork, type TestHost } from '../helpers/hosts.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';
import { meetingJourneys } from './journeys.ts';

const TRUNK_PORT = 5070;
/** Binds the first pair of the gateway's (12000-) and the recorder's (14000-) default RTP ranges, as another program might. */
const HOLD_PORTS = `
const dgram = require('node:dgram');
let bound = 0;
for (const port of [12000, 12001, 14000, 14001]) dgram.createSocket('udp4').bind(port, () => ++bound === 4 && console.log(JSON.stringify({ msg: 'holding' })));
`;

describe('the all-in-one server (npm start), from another host', () => {
  let network: TestNetwork;
  let server: TestHost;
  let clients: TestHost;
  let product: ServiceProcess;
  let portHolder: ServiceProcess;
  const recordings = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-recordings-'));

  beforeAll(async () => {
    network = await TestNetwork.create({ id: 'aio', subnet: '198.18.1' });
    server = await network.addHost('server', 1);
    clients = await network.addHost('clients', 10);
    // Another program on the server holds the first ports of the gateway's and the recorder's
    // ranges: calls and recordings must take the next free ones.
    portHolder = ServiceProcess.start(server, 'port holder', process.execPath, ['-e', HOLD_PORTS], {});
    await portHolder.waitForLog('holding');
    // The shipped defaults: HTTP 8080, SIP 5060, a redis-server of its own. Settings only where a
    // real site has its own: the trunk for dial-out, the network phones call from (the test
    // network's range is not among the private ones allowed by default), and a scratch folder
    // for recordings rather than the repository's.
    product = ServiceProcess.start(server, 'npm start', 'npm', ['start', '--silent'], {
      SIP_TRUNK_URI: `sip:${clients.address}:${TRUNK_PORT}`,
      SIP_ALLOWED_SOURCES: '198.18.0.0/15',
      RECORDINGS_DIR: recordings,
    });
    await product.waitForLog('recorder ready', 60_000);
    const health = await waitFor('the server healthy at its address', async () => (await fetch(`http://${server.address}:8080/healthz`)).ok);
    expect(health).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await product?.stop();
    await portHolder?.stop();
    fs.rmSync(recordings, { recursive: true, force: true });
    await network?.destroy();
  });

  it('serves the web client at the server address', async () => {
    const response = await fetch(`http://${server.address}:8080/townhall`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="app"></div>');
  });

  meetingJourneys({
    webUrl: () => `http://${server.address}:8080`,
    sipHost: () => server.address,
    clients: () => clients,
    trunkPort: TRUNK_PORT,
  });
});
