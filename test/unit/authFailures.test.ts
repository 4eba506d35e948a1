// Which refusals of the inbound guard count towards blocking a source: wrong
// or bad credentials and refused addresses, not the challenge every caller
// without credentials (or with a stale nonce) gets first.
import type Srf from 'drachtio-srf';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { createInboundGuard } from '../../gateway/calls/trunkSecurity.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { digestAnswer } from '../helpers/rawUac.ts';

const URI = 'sip:board@192.0.2.1:5060';

const request = (authorization?: string) =>
  ({
    source_address: '198.51.100.20',
    method: 'INVITE',
    uri: URI,
    has: (name: string) => name.toLowerCase() === 'authorization' && authorization !== undefined,
    get: () => authorization ?? '',
  }) as unknown as Srf.SrfRequest;

function guard(env: Record<string, string>) {
  const refused: string[] = [];
  const sent: { status: number; challenge?: string }[] = [];
  const inbound = loadGatewayConfig({ SIP_ALLOWED_SOURCES: '10.9.9.0/24', ...env }).inbound;
  const g = createInboundGuard(inbound, createLogger('silent', 'test'), (address) => refused.push(address));
  const res = {
    send: (status: number, opts?: { headers?: Record<string, string> }) => sent.push({ status, challenge: opts?.headers?.['WWW-Authenticate'] }),
  } as unknown as Srf.SrfResponse;
  return { admit: (req: Srf.SrfRequest) => g.admit(req, res), refused, sent };
}

describe('inbound guard failures', () => {
  it('counts a wrong password and a made-up nonce, not the first challenge or a right answer', async () => {
    const g = guard({ SIP_AUTH_USERNAME: 'phone', SIP_AUTH_PASSWORD: 'secret' });
    const challenge = async () => {
      expect(await g.admit(request())).toBe(false);
      return g.sent.at(-1)!.challenge!;
    };
    await challenge();
    expect(g.refused).toEqual([]);
    expect(await g.admit(request(digestAnswer(await challenge(), 'INVITE', URI, 'phone', 'wrong')))).toBe(false);
    expect(g.sent.at(-1)!.status).toBe(403);
    expect(g.refused).toEqual(['198.51.100.20']);
    expect(await g.admit(request(digestAnswer(await challenge(), 'INVITE', URI, 'phone', 'secret')))).toBe(true);
    const madeUp = `Digest realm="telebridge", nonce="${'x'.repeat(20)}", qop="auth"`;
    expect(await g.admit(request(digestAnswer(madeUp, 'INVITE', URI, 'phone', 'secret')))).toBe(false);
    expect(g.sent.at(-1)!.status).toBe(401);
    expect(g.refused).toEqual(['198.51.100.20', '198.51.100.20']);
  });

  it('counts a source refused outright when no credentials are configured', async () => {
    const g = guard({});
    expect(await g.admit(request())).toBe(false);
    expect(g.sent.map((s) => s.status)).toEqual([403]);
    expect(g.refused).toEqual(['198.51.100.20']);
  });
});
