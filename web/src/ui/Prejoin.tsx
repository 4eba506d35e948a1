import { Mic, MicOff, Video, VideoOff } from 'lucide-preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  describeMediaError,
  listDevices,
  loadPreferences,
  openCamera,
  openMicrophone,
  savePreferences,
} from '../lib/devices.ts';
import { Brand } from './Brand.tsx';
import { LevelMeter } from './LevelMeter.tsx';
import { VideoView } from './VideoView.tsx';

export interface JoinChoice {
  displayName: string;
  microphone: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
}

/** Name, camera and microphone preview, device choice, then join. */
export function Prejoin({ room, onJoin }: { room: string; onJoin: (choice: JoinChoice) => void }) {
  const prefs = loadPreferences();
  const [displayName, setDisplayName] = useState(prefs.displayName ?? '');
  const [camera, setCamera] = useState<MediaStreamTrack | null>(null);
  const [microphone, setMicrophone] = useState<MediaStreamTrack | null>(null);
  const [cameraOn, setCameraOn] = useState(true);
  const [micOn, setMicOn] = useState(true);
  const [cameraId, setCameraId] = useState(prefs.cameraId);
  const [microphoneId, setMicrophoneId] = useState(prefs.microphoneId);
  const [cameraError, setCameraError] = useState<string | null>(null);
  const [cameraPending, setCameraPending] = useState(true);
  const [micPending, setMicPending] = useState(true);
  const [micError, setMicError] = useState<string | null>(null);
  const [devices, setDevices] = useState<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }>({
    cameras: [],
    microphones: [],
  });
  const handedOver = useRef(false);

  useEffect(() => {
    if (!cameraOn) return setCameraPending(false);
    let track: MediaStreamTrack | null = null;
    let cancelled = false;
    setCameraPending(true);
    openCamera(cameraId)
      .then((t) => {
        if (cancelled) return t.stop();
        track = t;
        setCamera(t);
        setCameraError(null);
        void listDevices().then(setDevices);
      })
      .catch((error) => !cancelled && setCameraError(describeMediaError(error, 'camera')))
      .finally(() => !cancelled && setCameraPending(false));
    return () => {
      cancelled = true;
      if (!handedOver.current) track?.stop();
      setCamera(null);
    };
  }, [cameraId, cameraOn]);

  useEffect(() => {
    let track: MediaStreamTrack | null = null;
    let cancelled = false;
    setMicPending(true);
    openMicrophone(microphoneId)
      .then((t) => {
        if (cancelled) return t.stop();
        track = t;
        setMicrophone(t);
        setMicError(null);
        void listDevices().then(setDevices);
      })
      .catch((error) => !cancelled && setMicError(describeMediaError(error, 'microphone')))
      .finally(() => !cancelled && setMicPending(false));
    return () => {
      cancelled = true;
      if (!handedOver.current) track?.stop();
      setMicrophone(null);
    };
  }, [microphoneId]);

  useEffect(() => {
    if (microphone) microphone.enabled = micOn;
  }, [microphone, micOn]);

  // Joining waits for the devices, so nobody joins silent by clicking fast.
  const starting = cameraPending || micPending;

  const join = (event: Event) => {
    event.preventDefault();
    const name = displayName.trim();
    if (!name || starting) return;
    savePreferences({ displayName: name, cameraId, microphoneId });
    handedOver.current = true;
    onJoin({ displayName: name, microphone, camera: cameraOn ? camera : null });
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
                {cameraError ?? (cameraOn ? 'Starting camera…' : 'Camera is off')}
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
            <span class="hint">{micError ?? (micOn ? 'Say something to test your microphone' : 'Microphone muted')}</span>
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
          <label for="camera-select">Camera</label>
          <select id="camera-select" value={cameraId} onChange={(e) => setCameraId(e.currentTarget.value)}>
            {devices.cameras.length === 0 && <option value="">Default camera</option>}
            {devices.cameras.map((d, i) => (
              <option value={d.deviceId}>{d.label || `Camera ${i + 1}`}</option>
            ))}
          </select>
          <label for="microphone-select">Microphone</label>
          <select id="microphone-select" value={microphoneId} onChange={(e) => setMicrophoneId(e.currentTarget.value)}>
            {devices.microphones.length === 0 && <option value="">Default microphone</option>}
            {devices.microphones.map((d, i) => (
              <option value={d.deviceId}>{d.label || `Microphone ${i + 1}`}</option>
            ))}
          </select>
          <button class="button primary large" type="submit" id="join-button" disabled={!displayName.trim() || starting}>
            {starting ? 'Starting camera and microphone…' : 'Join meeting'}
          </button>
        </form>
      </div>
    </main>
  );
}
