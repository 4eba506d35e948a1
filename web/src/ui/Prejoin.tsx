import { Mic, MicOff, Video, VideoOff } from 'lucide-preact';
import { useEffect, useState } from 'preact/hooks';
import { listDevices, loadPreferences, openCamera, openMicrophone, savePreferences } from '../lib/devices.ts';
import { Brand } from './Brand.tsx';
import { LevelMeter } from './LevelMeter.tsx';
import { useLocalTrack } from './useLocalTrack.ts';
import { VideoView } from './VideoView.tsx';

export interface JoinChoice {
  displayName: string;
  microphone: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  password?: string;
}

/** Why the form asks for a password. */
export type LockState = 'locked' | 'wrongPassword';

function DeviceSelect(props: {
  id: string;
  label: string;
  devices: MediaDeviceInfo[];
  value: string | undefined;
  onChange: (deviceId: string) => void;
}) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.devices.length === 0 && <option value="">Default {props.label.toLowerCase()}</option>}
        {props.devices.map((d, i) => (
          <option value={d.deviceId}>{d.label || `${props.label} ${i + 1}`}</option>
        ))}
      </select>
    </>
  );
}

/** Name, camera and microphone preview, device choice, then join. */
export function Prejoin({ room, onJoin, lock }: { room: string; onJoin: (choice: JoinChoice) => void; lock: LockState | null }) {
  const prefs = loadPreferences();
  const [displayName, setDisplayName] = useState(prefs.displayName ?? '');
  const [password, setPassword] = useState('');
  const [cameraOn, setCameraOn] = useState(true);
  const [micOn, setMicOn] = useState(true);
  const [cameraId, setCameraId] = useState(prefs.cameraId);
  const [microphoneId, setMicrophoneId] = useState(prefs.microphoneId);
  const [devices, setDevices] = useState<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }>({
    cameras: [],
    microphones: [],
  });
  // Device labels are only readable once permission was granted.
  const refreshDevices = () => void listDevices().then(setDevices);
  const cam = useLocalTrack('camera', openCamera, cameraId, cameraOn, refreshDevices);
  const mic = useLocalTrack('microphone', openMicrophone, microphoneId, true, refreshDevices);
  const camera = cam.track;
  const microphone = mic.track;

  useEffect(() => {
    if (microphone) microphone.enabled = micOn;
  }, [microphone, micOn]);

  // Joining waits for the devices, so nobody joins silent by clicking fast.
  const starting = cam.pending || mic.pending;

  const join = (event: Event) => {
    event.preventDefault();
    const name = displayName.trim();
    if (!name || starting || (lock && !password)) return;
    savePreferences({ displayName: name, cameraId, microphoneId });
    cam.handOver();
    mic.handOver();
    onJoin({ displayName: name, microphone, camera: cameraOn ? camera : null, password: lock ? password : undefined });
  };

  return (
    <main class="prejoin">
      <header class="welcome-header">
        <Brand />
      </header>
      <div class="prejoin-body">
        <section class="preview">
          <div class="preview-frame">
            {cameraOn && camera ? (
              <VideoView track={camera} mirrored />
            ) : (
              <div class="preview-off">
                {cam.error ?? (cameraOn ? 'Starting camera…' : 'Camera is off')}
              </div>
            )}
            <div class="preview-controls">
              <button
                class={`round ${micOn ? '' : 'off'}`}
                title={micOn ? 'Mute microphone' : 'Unmute microphone'}
                aria-label={micOn ? 'Mute microphone' : 'Unmute microphone'}
                disabled={!microphone}
                onClick={() => setMicOn(!micOn)}
              >
                {micOn ? <Mic size={20} /> : <MicOff size={20} />}
              </button>
              <button
                class={`round ${cameraOn ? '' : 'off'}`}
                title={cameraOn ? 'Turn camera off' : 'Turn camera on'}
                aria-label={cameraOn ? 'Turn camera off' : 'Turn camera on'}
                onClick={() => setCameraOn(!cameraOn)}
              >
                {cameraOn ? <Video size={20} /> : <VideoOff size={20} />}
              </button>
            </div>
          </div>
          <div class="mic-check">
            {microphone && micOn ? <LevelMeter track={microphone} /> : null}
            <span class="hint">{mic.error ?? (micOn ? 'Say something to test your microphone' : 'Microphone muted')}</span>
          </div>
        </section>
        <form class="prejoin-form" onSubmit={join}>
          <p class="eyebrow">Ready to join?</p>
          <h1 class="room-title">{room}</h1>
          <label for="display-name">Your name</label>
          <input
            id="display-name"
            value={displayName}
            maxLength={64}
            placeholder="How others will see you"
            autocomplete="name"
            onInput={(e) => setDisplayName(e.currentTarget.value)}
          />
          <DeviceSelect id="camera-select" label="Camera" devices={devices.cameras} value={cameraId} onChange={setCameraId} />
          <DeviceSelect
            id="microphone-select"
            label="Microphone"
            devices={devices.microphones}
            value={microphoneId}
            onChange={setMicrophoneId}
          />
          {lock && (
            <>
              <label for="room-password">Meeting password</label>
              <input
                id="room-password"
                inputMode="numeric"
                autocomplete="off"
                value={password}
                maxLength={12}
                placeholder="Digits"
                onInput={(e) => setPassword(e.currentTarget.value.replace(/[^0-9]/g, ''))}
              />
              <p class={`hint ${lock === 'wrongPassword' ? 'error' : ''}`} role="status" data-testid="password-hint">
                {lock === 'wrongPassword' ? 'That password is not correct.' : 'This meeting is locked. Ask the host for its password.'}
              </p>
            </>
          )}
          <button
            class="button primary large"
            type="submit"
            id="join-button"
            disabled={!displayName.trim() || starting || (lock !== null && !password)}
          >
            {starting ? 'Starting camera and microphone…' : 'Join meeting'}
          </button>
        </form>
      </div>
    </main>
  );
}
