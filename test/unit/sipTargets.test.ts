// Where the embedded SIP engine sends a request (RFC 3263 without SRV/NAPTR):
// the URI's host and port, 5060 by default, UDP unless transport= says TCP or
// TLS; sips: is TLS on 5061, and a TLS peer named by host name keeps that name
// for its certificate check.
import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../gateway/sip-engine/targets.ts';

describe('request targets', () => {
  it('takes the host and port of the URI, UDP and 5060 by default', async () => {
    expect(await resolveTarget('sip:bob@192.0.2.7')).toEqual({ protocol: 'udp', address: '192.0.2.7', port: 5060 });
    expect(await resolveTarget('<sip:bob@192.0.2.7:5080;transport=TCP>')).toEqual({ protocol: 'tcp', address: '192.0.2.7', port: 5080 });
    expect(await resolveTarget('sip:[2001:db8::7]:5062')).toEqual({ protocol: 'udp', address: '2001:db8::7', port: 5062 });
  });

  it('looks host names up', async () => {
    expect(await resolveTarget('sip:bob@localhost')).toMatchObject({ address: '127.0.0.1' });
  });

  it('goes over TLS for transport=tls and sips:, on 5061 by default, keeping the name the certificate must carry', async () => {
    expect(await resolveTarget('sip:bob@192.0.2.7;transport=TLS')).toEqual({ protocol: 'tls', address: '192.0.2.7', port: 5061 });
    expect(await resolveTarget('sips:bob@192.0.2.7:5071')).toEqual({ protocol: 'tls', address: '192.0.2.7', port: 5071 });
    expect(await resolveTarget('sip:bob@localhost;transport=tls')).toEqual({ protocol: 'tls', address: '127.0.0.1', port: 5061, serverName: 'localhost' });
  });

  it('keeps a transport it is given (a dialog keeps the one it started on)', async () => {
    expect(await resolveTarget('sip:bob@192.0.2.7;transport=tcp', 'udp')).toMatchObject({ protocol: 'udp' });
    expect(await resolveTarget('sip:bob@192.0.2.7;transport=tls', 'tcp')).toMatchObject({ protocol: 'tcp' });
  });

  it.each([
    ['a URI that is not one', 'bob@192.0.2.7', /invalid request-uri/],
    ['a tel: URI', 'tel:+15551230123', /invalid request-uri/],
    ['SCTP', 'sip:bob@192.0.2.7;transport=sctp', /transport not available/],
  ])('refuses %s', async (_what, uri, error) => {
    await expect(resolveTarget(uri)).rejects.toThrow(error);
  });
});
