// Opening cameras and microphones, and saying clearly why it failed.

export interface DeviceChoice {
  cameraId?: string;
  microphoneId?: string;
}

/**
 * "Original sound" (`?audioProcessing=off` in the meeting link): no echo
 * cancellation, noise suppression or gain control, for music, which the
 * noise suppressor would otherwise treat as noise and remove.
 */
function voiceProcessing(): boolean {
  return new URLSearchParams(location.search).get('audioProcessing') !== 'off';
}

export async function openMicrophone(deviceId?: string): Promise<MediaStreamTrack> {
  const processing = voiceProcessing();
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      deviceId: deviceId ? { exact: deviceId } : undefined,
      echoCancellation: processing,
      noiseSuppression: processing,
      autoGainControl: processing,
    },
  });
  return stream.getAudioTracks()[0]!;
}

export async function openCamera(deviceId?: string): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: {
      deviceId: deviceId ? { exact: deviceId } : undefined,
      width: { ideal: 1280 },
      height: { ideal: 720 },
      frameRate: { ideal: 30 },
    },
  });
  return stream.getVideoTracks()[0]!;
}

export async function openScreen(): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
  return stream.getVideoTracks()[0]!;
}

export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }> {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === 'videoinput' && d.deviceId),
    microphones: devices.filter((d) => d.kind === 'audioinput' && d.deviceId),
  };
}

/** A sentence a person can act on. */
export function describeMediaError(error: unknown, what: 'camera' | 'microphone' | 'screen'): string {
  const name = (error as { name?: string })?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return what === 'screen'
        ? 'Screen sharing was cancelled or is not allowed.'
        : `Your browser is blocking the ${what}. Allow it in the site settings (the icon left of the address), then try again.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No ${what} was found. Plug one in or pick another device.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The ${what} is in use by another application or could not be started.`;
    default:
      return `Could not start the ${what}${error instanceof Error ? `: ${error.message}` : '.'}`;
  }
}

const STORAGE_KEY = 'telebridge.prefs';

export interface Preferences extends DeviceChoice {
  displayName?: string;
}

export function loadPreferences(): Preferences {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Preferences;
  } catch {
    return {};
  }
}

export function savePreferences(prefs: Preferences): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...loadPreferences(), ...prefs }));
}
