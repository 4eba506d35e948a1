import path from 'node:path';
import type Srf from 'drachtio-srf';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { TrunkRegistration, type TrunkRegistrationOptions, type TrunkRegistrationStatus } from '../../gateway/trunk/TrunkRegistration.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { type SippProcess, type SippResult, startListeningSipp } from '../helpers/sipp.ts';
import { startSrfApp } from '../helpers/srfApp.ts';
import { waitFor } from '../helpers/wait.ts';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'trunk-register');
const scenario = (name: string): string => path.join(import.meta.dirname, 'scenarios', name);
const PASSWORD = 's3cret';
const report = (r: SippResult): string => `sipp exited ${r.code}\n${r.stderr}\n${r.stdout.slice(-3000)}`;

/** Everything a test started, closed in reverse order afterwards. */
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The tests' SIP engine (embedded, or SIP_ENGINE_BIN's drachtio-server) with a connected drachtio-srf app; returns the app and our Contact host:port. */
async function startEngineApp(): Promise<{ srf: Srf; contactHost: string }> {
  const app = await startSrfApp(logger);
  cleanups.push(() => app.close());
  return { srf: app.srf, contactHost: `127.0.0.1:${app.sipPort}` };
}

/** A sipp registrar running `file`, listening on UDP before this returns. */
async function startRegistrar(file: string): Promise<{ uri: string; sipp: SippProcess }> {
  const port = await freePort();
  const sipp = await startListeningSipp({ scenario: scenario(file), localPort: port, calls: 1, timeoutSeconds: 30, keys: { password: PASSWORD } });
  cleanups.push(() => sipp.stop());
  return { uri: `sip:127.0.0.1:${port}`, sipp };
}

/** Starts a registration and records every status it reports. */
function register(srf: Srf, options: Partial<TrunkRegistrationOptions> & Pick<TrunkRegistrationOptions, 'registrar' | 'contactHost'>) {
  const registration = TrunkRegistration.start(srf, { username: 'alice', password: PASSWORD, expiresSeconds: 60, logger, ...options });
  cleanups.push(() => registration.stop());
  const seen: TrunkRegistrationStatus[] = [];
  registration.on('status', (status) => seen.push(status));
  return { registration, seen };
}

describe('trunk registration against a sipp registrar', () => {
  test('registers with digest auth, reads the granted expiry and refreshes before it lapses', async () => {
    const { srf, contactHost } = await startEngineApp();
    const registrar = await startRegistrar('uas-register-refresh.xml');
    const { registration, seen } = register(srf, { registrar: registrar.uri, contactHost });
    expect(registration.status).toEqual({ state: 'registering', registrar: registrar.uri });

    const first = await waitFor('registered', () => seen[0]);
    expect(first).toMatchObject({ state: 'registered' });
    // Asked for 60 s, granted 4 in our Contact's ;expires.
    expect(first.expiresAt! - first.lastRegisteredAt!).toBe(4000);
    expect(first.lastError).toBeUndefined();

    // The refresh (or a failure, with its reason).
    const second = await waitFor('refreshed', () => seen[1], 8000);
    expect(second).toMatchObject({ state: 'registered' });
    expect(second.lastRegisteredAt!).toBeLessThan(first.expiresAt!);
    // Granted 4 s again, this time in the Expires header.
    expect(second.expiresAt! - second.lastRegisteredAt!).toBe(4000);
    // Same Call-ID (one sipp call), rising CSeq (else the scenario answers 500) and digest on both rounds.
    const result = await registrar.sipp.done;
    expect(result.successful, report(result)).toBe(1);
    expect(result.failed, report(result)).toBe(0);

    // The registrar has gone: the un-REGISTER goes unanswered, and stop() still returns promptly.
    const stopping = Date.now();
    await registration.stop();
    expect(Date.now() - stopping).toBeLessThan(3000);
  });

  test('a wrong password gets 403: state failed, with the reason', async () => {
    const { srf, contactHost } = await startEngineApp();
    const registrar = await startRegistrar('uas-register-auth.xml');
    const { registration, seen } = register(srf, { registrar: registrar.uri, contactHost, password: 'wrong' });

    const failed = await waitFor('failed', () => seen.find((s) => s.state === 'failed'));
    expect(failed.lastError).toContain('403');
    expect(failed.expiresAt).toBeUndefined();
    expect(registration.status).toEqual(failed);
    const result = await registrar.sipp.done;
    expect(result.successful, report(result)).toBe(1);
  });

  test('stop() removes the binding with Expires: 0; the granted expiry is read from our own Contact', async () => {
    const { srf, contactHost } = await startEngineApp();
    const registrar = await startRegistrar('uas-register-unregister.xml');
    const lines: Array<{ msg: string }> = [];
    const recording = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const { registration } = register(srf, { registrar: registrar.uri, contactHost, expiresSeconds: 3600, logger: recording });

    await waitFor('registered', () => registration.status.state === 'registered');
    const { expiresAt, lastRegisteredAt } = registration.status;
    // 1800 s on our Contact; not the other binding's 999, nor the Expires header's 3600.
    expect(expiresAt! - lastRegisteredAt!).toBe(1_800_000);

    await registration.stop();
    const result = await registrar.sipp.done;
    expect(result.successful, report(result)).toBe(1);
    expect(result.failed, report(result)).toBe(0);
    // The un-REGISTER was challenged too, and accepted.
    expect(lines.map((l) => l.msg)).toContain('unregistered from the trunk');
  });

  test('a failure is retried after 5 s, and the registration recovers', async () => {
    const { srf, contactHost } = await startEngineApp();
    const registrar = await startRegistrar('uas-register-retry.xml');
    const { seen } = register(srf, { registrar: registrar.uri, contactHost });

    const failed = await waitFor('failed', () => seen.find((s) => s.state === 'failed'));
    const failedAt = Date.now();
    expect(failed.lastError).toBe('503 Service Unavailable');
    const registered = await waitFor('registered after the retry', () => seen.find((s) => s.state === 'registered'), 15_000);
    expect(registered.lastRegisteredAt! - failedAt).toBeGreaterThanOrEqual(4900);
    expect(registered.lastError).toBeUndefined();
    const result = await registrar.sipp.done;
    expect(result.successful, report(result)).toBe(1);
  }, 30_000);

  test('423 Interval Too Brief: asks again for Min-Expires', async () => {
    const { srf, contactHost } = await startEngineApp();
    const registrar = await startRegistrar('uas-register-min-expires.xml');
    const { seen } = register(srf, { registrar: registrar.uri, contactHost, expiresSeconds: 60 });

    const registered = await waitFor('registered', () => seen.find((s) => s.state === 'registered'));
    expect(registered.expiresAt! - registered.lastRegisteredAt!).toBe(300_000);
    expect(seen.map((s) => s.state)).not.toContain('failed');
    const result = await registrar.sipp.done;
    expect(result.successful, report(result)).toBe(1);
    expect(result.failed, report(result)).toBe(0);
  });

  test("a gateway with SIP_REGISTER shows its trunk registration in the bridge's /healthz", async () => {
    const registrar = await startRegistrar('uas-register-auth.xml');
    const bridge = await startBridge({ MEDIA_WORKERS: '1' });
    cleanups.push(() => bridge.stop());
    const gw = await startGateway(bridge, {
      SIP_TRUNK_URI: registrar.uri,
      SIP_TRUNK_USERNAME: 'alice',
      SIP_TRUNK_PASSWORD: PASSWORD,
      SIP_REGISTER: 'true',
    });
    cleanups.push(() => gw.gateway.stop());
    const health = await waitFor('registered, as the bridge sees it', async () => {
      const body = (await (await fetch(`${bridge.url}/healthz`)).json()) as { sipGateways: { dialOut: boolean; trunkRegistration: TrunkRegistrationStatus | null }[] };
      return body.sipGateways[0]?.trunkRegistration?.state === 'registered' ? body.sipGateways[0] : undefined;
    });
    expect(health.dialOut).toBe(true);
    expect(health.trunkRegistration).toMatchObject({ registrar: registrar.uri, expiresAt: expect.any(Number) });
    const result = await registrar.sipp.done;
    expect(result.successful, report(result)).toBe(1);
  });
});
