import type { RecordingFile, RecordingInfo } from '../../protocol/protocol.ts';

/** The bridge's REST for one room's recordings, as a moderator's client uses it. */
export function recordingsApi(bridgeUrl: string, room: string) {
  const url = (suffix = '') => `${bridgeUrl}/api/rooms/${room}/recordings${suffix}`;
  const post = (body: unknown) => fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
      return (await fetch(url())).json() as Promise<{ current: RecordingInfo[]; files: RecordingFile[] }>;
    },
    /** DELETE: the HTTP status. */
    async stop(id: string): Promise<number> {
      return (await fetch(url(`/${id}`), { method: 'DELETE' })).status;
    },
  };
}
