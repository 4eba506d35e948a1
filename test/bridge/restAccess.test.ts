// Who may call REST: every route against every kind of caller, each cell an
// expected status; and the HTTP hardening around it (the rate limit, the
// metrics token, security headers, what /docs declares).
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestAuth, ROUTE_PERMISSIONS } from '../../bridge/auth/RestAuth.ts';
import { signToken } from '../../bridge/auth/signToken.ts';
import type { Bridge } from '../../bridge/Bridge.ts';
import { installRestAccess } from '../../bridge/http/restAccess.ts';
import { TOKEN_AUDIENCE } from '../../protocol/accessTokens.ts';
import { serviceAuthorization } from '../../protocol/serviceAuth.ts';
import { startBridge, TEST_API, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { operatorAuthorization } from '../helpers/rest.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';

/** The live room the routes are called about, and one that does not exist (closing it must not end the test). */
const ROOM = 'matrix';
const GHOST = 'ghost';
const METRICS_TOKEN = 'metrics-token-0123456789';

const CALLERS = ['none', 'wrongKey', 'expiredJwt', 'tamperedJwt', 'memberOfOtherRoom', 'memberOfRoom', 'service', 'operatorBasic', 'operatorJwt'] as const;
type Caller = (typeof CALLERS)[number];

interface Row {
  /** The ROUTE_PERMISSIONS entry. */
  route: string;
  path: () => string;
  body?: unknown;
  /** The room the route is about (member tokens are for it, or for another). */
  room: string;
  /** Where the credential passes: what the route answers then. Every other caller gets the default of its kind. */
  allowed: Partial<Record<Caller, number>>;
}

/** Refused callers: no or a bad credential is 401; an authenticated caller without the permission 403. */
const REFUSED: Record<Caller, number> = {
  none: 401,
  wrongKey: 401,
  expiredJwt: 401,
  tamperedJwt: 401,
  memberOfOtherRoom: 403,
  memberOfRoom: 403,
  service: 403,
  operatorBasic: 403,
  operatorJwt: 403,
};

describe('REST access', () => {
  let bridge: Bridge;
  let alice: Joined;
  let pin: string;
  const credentials: Partial<Record<Caller, Record<string, string>>> = {};
  const memberOf = new RestAuth(TEST_API, TEST_SERVICE_SECRET);

  const operator = (status: number) => ({ operatorBasic: status, operatorJwt: status });
  const ROWS: Row[] = [
    { route: 'GET /api/rooms', path: () => '/api/rooms', room: ROOM, allowed: operator(200) },
    { route: 'GET /api/rooms/:room', path: () => `/api/rooms/${ROOM}`, room: ROOM, allowed: { ...operator(200), service: 200 } },
    { route: 'DELETE /api/rooms/:room', path: () => `/api/rooms/${GHOST}`, room: GHOST, allowed: operator(404) },
    { route: 'DELETE /api/rooms/:room/participants/:peerId', path: () => `/api/rooms/${ROOM}/participants/nobody`, room: ROOM, allowed: operator(404) },
    { route: 'POST /api/rooms/:room/participants/:peerId/mute', path: () => `/api/rooms/${ROOM}/participants/nobody/mute`, room: ROOM, allowed: operator(404) },
    { route: 'GET /api/rooms/:room/dial-out', path: () => `/api/rooms/${ROOM}/dial-out`, room: ROOM, allowed: operator(200) },
    // No SIP gateway is connected: a call that passes is refused for that, 503.
    { route: 'POST /api/rooms/:room/dial-out', path: () => `/api/rooms/${ROOM}/dial-out`, body: { number: '+15550100199' }, room: ROOM, allowed: operator(503) },
    { route: 'DELETE /api/rooms/:room/dial-out/:callId', path: () => `/api/rooms/${ROOM}/dial-out/nocall`, room: ROOM, allowed: operator(404) },
    { route: 'GET /api/dial-outs', path: () => '/api/dial-outs', room: ROOM, allowed: operator(200) },
    { route: 'GET /api/dial-in/:pin', path: () => `/api/dial-in/${pin}`, room: ROOM, allowed: { ...operator(200), service: 200 } },
    { route: 'GET /api/rooms/:room/recordings', path: () => `/api/rooms/${ROOM}/recordings`, room: ROOM, allowed: { ...operator(200), memberOfRoom: 200 } },
    // No Redis (REDIS_URL unset): a start that passes is refused for that, 503.
    { route: 'POST /api/rooms/:room/recordings', path: () => `/api/rooms/${ROOM}/recordings`, body: { file: true }, room: ROOM, allowed: operator(503) },
    { route: 'DELETE /api/rooms/:room/recordings/:id', path: () => `/api/rooms/${ROOM}/recordings/norecording`, room: ROOM, allowed: operator(503) },
    { route: 'GET /api/recordings/:room/:name', path: () => `/api/recordings/${ROOM}/2026-01-01T00-00-00-000Z.mp4`, room: ROOM, allowed: { ...operator(404), memberOfRoom: 404 } },
    { route: 'GET /api/bridge', path: () => '/api/bridge', room: ROOM, allowed: operator(200) },
    // A timeout out of range: the operator gets past access to the body's check (400), and this bridge does not drain.
    { route: 'POST /api/bridge/drain', path: () => '/api/bridge/drain', body: { timeoutSeconds: -1 }, room: ROOM, allowed: operator(400) },
  ];

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', METRICS_TOKEN, REST_RATE_LIMIT_PER_MINUTE: '10000' });
    alice = await joinRoom(bridge.url, ROOM, 'Alice', 'web');
    pin = bridge.registry.get(ROOM)!.pin;
    const operatorJwt = await signToken(TEST_API, {}, { audience: TOKEN_AUDIENCE.api, expiresIn: '5m' });
    const [header, payload, signature] = operatorJwt.split('.') as [string, string, string];
    // A changed character mid-signature (the last one may only carry padding bits).
    const middle = Math.floor(signature.length / 2);
    const tampered = `${header}.${payload}.${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    Object.assign(credentials, {
      none: {},
      wrongKey: operatorAuthorization({ key: TEST_API.key, secret: 'not-the-secret-0123456789-0123456789' }),
      expiredJwt: bearer(await signToken(TEST_API, {}, { audience: TOKEN_AUDIENCE.api, expiresIn: Math.floor(Date.now() / 1000) - 60 })),
      tamperedJwt: bearer(tampered),
      service: serviceAuthorization(TEST_SERVICE_SECRET),
      operatorBasic: operatorAuthorization(),
      operatorJwt: bearer(operatorJwt),
    });
  });
  afterAll(async () => {
    alice?.client.close();
    await bridge?.stop();
  });

  async function call(row: Row, caller: Caller): Promise<number> {
    let headers = credentials[caller]!;
    if (caller === 'memberOfRoom') headers = { authorization: `Bearer ${await memberOf.memberToken(row.room, 'peer-1')}` };
    if (caller === 'memberOfOtherRoom') headers = { authorization: `Bearer ${await memberOf.memberToken('elsewhere', 'peer-1')}` };
    const method = row.route.split(' ')[0];
    const response = await fetch(`${bridge.url}${row.path()}`, {
      method,
      headers: { ...headers, ...(row.body !== undefined && { 'content-type': 'application/json' }) },
      body: row.body !== undefined ? JSON.stringify(row.body) : undefined,
    });
    await response.body?.cancel();
    return response.status;
  }

  it('covers every route in ROUTE_PERMISSIONS', () => {
    expect(ROWS.map((row) => row.route).sort()).toEqual(Object.keys(ROUTE_PERMISSIONS).sort());
  });

  it('answers each route and caller as the matrix says', async () => {
    const expected: Record<string, Record<Caller, number>> = {};
    const actual: Record<string, Record<Caller, number>> = {};
    for (const row of ROWS) {
      expected[row.route] = { ...REFUSED, ...row.allowed };
      actual[row.route] = {} as Record<Caller, number>;
      for (const caller of CALLERS) actual[row.route]![caller] = await call(row, caller);
    }
    expect(actual).toEqual(expected);
  });

  it('says why it refuses', async () => {
    const refusal = async (path: string, headers: Record<string, string>) => {
      const response = await fetch(`${bridge.url}${path}`, { headers });
      return [response.status, ((await response.json()) as { error: string }).error];
    };
    expect(await refusal('/api/rooms', {})).toEqual([401, expect.stringMatching(/credentials required/)]);
    expect(await refusal('/api/rooms', credentials.expiredJwt!)).toEqual([401, 'token expired']);
    expect(await refusal('/api/rooms', credentials.tamperedJwt!)).toEqual([401, 'token signature is invalid']);
    expect(await refusal('/api/rooms', credentials.wrongKey!)).toEqual([401, 'wrong API key or secret']);
    expect(await refusal('/api/rooms', credentials.service!)).toEqual([403, 'forbidden: rooms:list is not granted to this service']);
    const member = { authorization: `Bearer ${await memberOf.memberToken('elsewhere', 'peer-1')}` };
    expect(await refusal(`/api/rooms/${ROOM}/recordings`, member)).toEqual([403, `forbidden: recordings:list on room ${ROOM} is not granted to this member`]);
  });

  it("takes the token a join hands out for that room's recordings, in a header or in a link", async () => {
    const token = alice.joined.accessToken;
    const listing = await fetch(`${bridge.url}/api/rooms/${ROOM}/recordings`, { headers: { authorization: `Bearer ${token}` } });
    expect(listing.status).toBe(200);
    const download = await fetch(`${bridge.url}/api/recordings/${ROOM}/2026-01-01T00-00-00-000Z.mp4?access_token=${token}`);
    expect(download.status).toBe(404); // passed the check; there is no such file
    expect((await fetch(`${bridge.url}/api/rooms/${ROOM}?access_token=${token}`)).status).toBe(403);
  });

  it('keeps /healthz open, and /metrics behind METRICS_TOKEN', async () => {
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${bridge.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${bridge.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(`${bridge.url}/metrics`, { headers: operatorAuthorization() })).status).toBe(401);
    const metrics = await fetch(`${bridge.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('bridge_rooms');
  });

  it('declares the schemes in /docs, and /healthz as open', async () => {
    const spec = (await (await fetch(`${bridge.url}/docs/json`)).json()) as {
      components: { securitySchemes: Record<string, { scheme: string }> };
      security: Record<string, string[]>[];
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    expect(spec.components.securitySchemes).toMatchObject({ bearer: { scheme: 'bearer' }, basic: { scheme: 'basic' } });
    expect(spec.security).toEqual([{ bearer: [] }, { basic: [] }]);
    expect(spec.paths['/healthz']!.get!.security).toEqual([]);
    expect(spec.paths['/api/rooms']!.get!.security).toBeUndefined(); // the global requirement applies
  });

  it('sends security headers, with a Content-Security-Policy for the web client and one for /docs', async () => {
    const page = await fetch(`${bridge.url}/${ROOM}`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // Plain HTTP: no HSTS (browsers ignore it there, and it would only mislead).
    expect(page.headers.get('strict-transport-security')).toBeNull();
    const docs = await fetch(`${bridge.url}/docs/static/index.html`);
    expect(docs.headers.get('content-security-policy')).toContain("style-src 'self' 'unsafe-inline'");
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

describe('REST rate limit', () => {
  let bridge: Bridge;
  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', REST_RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(() => bridge?.stop());

  it('answers 429 past REST_RATE_LIMIT_PER_MINUTE from one address, counting refused credentials too, and leaves the rest alone', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${bridge.url}/api/rooms`, { headers: operatorAuthorization() })).status);
    for (let i = 0; i < 2; i++) statuses.push((await fetch(`${bridge.url}/api/rooms`)).status);
    expect(statuses).toEqual([200, 200, 200, 401, 401]);
    const limited = await fetch(`${bridge.url}/api/rooms`, { headers: operatorAuthorization() });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: string }).error).toMatch(/^rate limited: at most 5 REST requests a minute from one address \(REST_RATE_LIMIT_PER_MINUTE\); try again in \d+ (seconds?|minutes?)$/);
    for (let i = 0; i < 10; i++) expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200);
  });
});

describe('a REST route nobody decided on', () => {
  it('stops the server from being built', async () => {
    const app = Fastify();
    installRestAccess(app, new RestAuth(TEST_API, TEST_SERVICE_SECRET));
    const build = async () => {
      app.get('/api/rooms/:room/secrets', async () => ({}));
      await app.ready();
    };
    await expect(build()).rejects.toThrow('REST route GET /api/rooms/:room/secrets has no permission in ROUTE_PERMISSIONS');
    await app.close();
  });
});
