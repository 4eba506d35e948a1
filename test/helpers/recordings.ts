import type { ApiCredentials } from '../../bridge/auth/ApiCredentials.ts';
import type { RecordingFile, RecordingInfo } from '../../protocol/protocol.ts';
import { TEST_API } from './bridge.ts';
import { operatorFetch } from './rest.ts';

/** The bridge's REST for one room's recordings, as the operator (with `credentials`) uses it. */
export function recordingsApi(bridgeUrl: string, room: string, credentials: ApiCredentials = TEST_API) {
  const url = (suffix = '') => `${bridgeUrl}/api/rooms/${room}/recordings${suffix}`;
  const call = (target: string, init: RequestInit = {}) => operatorFetch(target, init, credentials);
  const post = (body: unknown) => call(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return {
    url,
    post,
    /** Starts a recording; anything but 201 fails with the bridge's answer (a refusal must not pass for a recording). */
    async start(body: unknown): Promise<RecordingInfo> {
      const response = await post(body);
      if (response.status !== 201) throw new Error(`starting a recording of ${room}: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { recording: RecordingInfo }).recording;
    },
    async listing(): Promise<{ current: RecordingInfo[]; files: RecordingFile[] }> {
      return (await call(url())).json() as Promise<{ current: RecordingInfo[]; files: RecordingFile[] }>;
    },
    /** DELETE: the HTTP status. */
    async stop(id: string): Promise<number> {
      return (await call(url(`/${id}`), { method: 'DELETE' })).status;
    },
    /** GET a file's url (as listed: /api/recordings/...). */
    download(fileUrl: string): Promise<Response> {
      return call(`${bridgeUrl}${fileUrl}`);
    },
  };
}
