import {
  CircleDot,
  CircleStop,
  FolderDown,
  Hand,
  LayoutGrid,
  MessageSquare,
  Mic,
  MicOff,
  PhoneOff,
  Presentation,
  Radio,
  RadioTower,
  ScreenShare,
  ScreenShareOff,
  Users,
  Video,
  VideoOff,
} from 'lucide-preact';
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';
import { describeMediaError, loadPreferences, openCamera, openMicrophone, openScreen } from '../lib/devices.ts';
import { stoppableFileRecording, stoppableLiveStream } from '../lib/recordings.ts';
import { LiveDialog } from './LiveDialog.tsx';

export type Panel = 'chat' | 'participants' | 'recordings' | null;

function ToolButton({
  label,
  active = false,
  off = false,
  danger = false,
  badge,
  onClick,
  children,
  id,
}: {
  label: string;
  active?: boolean;
  off?: boolean;
  danger?: boolean;
  badge?: number;
  onClick: () => void;
  children: ComponentChildren;
  id: string;
}) {
  return (
    <button
      id={id}
      class={`tool ${active ? 'active' : ''} ${off ? 'off' : ''} ${danger ? 'danger' : ''}`}
      title={label}
      aria-label={label}
      aria-pressed={active}
      onClick={onClick}
    >
      {children}
      {badge ? <span class="badge">{badge > 9 ? '9+' : badge}</span> : null}
    </button>
  );
}

/** Unread chat messages since the chat panel was last open. */
function useUnread(conference: Conference, chatOpen: boolean): number {
  const total = conference.chat.value.length;
  const seen = useRef(total);
  if (chatOpen) seen.current = total;
  return Math.max(0, total - seen.current);
}

export function Toolbar({
  conference,
  panel,
  onPanel,
  speakerView,
  onSpeakerView,
}: {
  conference: Conference;
  panel: Panel;
  onPanel: (panel: Panel) => void;
  speakerView: boolean;
  onSpeakerView: (on: boolean) => void;
}) {
  const micOn = conference.micOn.value;
  const cameraOn = !!conference.cameraTrack.value;
  const sharing = !!conference.screenTrack.value;
  const hand = conference.handRaised.value;
  const unread = useUnread(conference, panel === 'chat');
  const [busy, setBusy] = useState(false);
  const [liveDialog, setLiveDialog] = useState(false);
  const fileRecording = stoppableFileRecording(conference.recordings.value);
  const liveStream = stoppableLiveStream(conference.recordings.value);
  // Moderator controls, for those whose role and grants allow them.
  // A join token without `publish`: we only watch and listen.
  const mayPublish = conference.may('produce');
  const mayRecord = conference.may('startRecording', { file: true, streams: [] });
  const mayStream = conference.may('startRecording', { file: false, streams: ['rtmp://'] });
  const mayEnd = conference.may('endMeeting');

  const guarded = (action: () => Promise<void>) => async () => {
    if (busy) return;
    setBusy(true);
    try {
      await action();
    } finally {
      setBusy(false);
    }
  };

  const toggleMic = guarded(async () => {
    if (micOn) return conference.setMicOn(false);
    try {
      if (!conference.hasMicrophone) await conference.replaceMicrophone(await openMicrophone(loadPreferences().microphoneId));
      await conference.setMicOn(true);
    } catch (error) {
      conference.notice(describeMediaError(error, 'microphone'));
    }
  });

  const toggleCamera = guarded(async () => {
    if (cameraOn) return conference.setCamera(null);
    try {
      await conference.setCamera(await openCamera(loadPreferences().cameraId));
    } catch (error) {
      conference.notice(describeMediaError(error, 'camera'));
    }
  });

  const toggleScreen = guarded(async () => {
    if (sharing) return conference.setScreen(null);
    try {
      await conference.setScreen(await openScreen());
    } catch (error) {
      conference.notice(describeMediaError(error, 'screen'));
    }
  });

  const toggleRecording = guarded(async () => {
    if (fileRecording) await conference.stopRecording(fileRecording.id);
    else await conference.startRecording({ file: true });
  });

  const toggleLive = guarded(async () => {
    if (liveStream) await conference.stopRecording(liveStream.id);
    else setLiveDialog(!liveDialog);
  });

  const startLive = async (streams: string[]) => {
    if (await conference.startRecording({ file: false, streams })) setLiveDialog(false);
  };

  return (
    <footer class="toolbar">
      <div class="toolbar-group">
        {mayPublish && (
          <>
            <ToolButton id="toggle-mic" label={micOn ? 'Mute' : 'Unmute'} off={!micOn} onClick={toggleMic}>
              {micOn ? <Mic size={20} /> : <MicOff size={20} />}
            </ToolButton>
            <ToolButton id="toggle-camera" label={cameraOn ? 'Stop camera' : 'Start camera'} off={!cameraOn} onClick={toggleCamera}>
              {cameraOn ? <Video size={20} /> : <VideoOff size={20} />}
            </ToolButton>
            <ToolButton id="toggle-screen" label={sharing ? 'Stop sharing' : 'Share screen'} active={sharing} onClick={toggleScreen}>
              {sharing ? <ScreenShareOff size={20} /> : <ScreenShare size={20} />}
            </ToolButton>
          </>
        )}
        <ToolButton
          id="toggle-hand"
          label={hand ? 'Lower hand' : 'Raise hand'}
          active={hand}
          onClick={() => void conference.setHandRaised(!hand)}
        >
          <Hand size={20} />
        </ToolButton>
      </div>
      <div class="toolbar-group">
        {mayRecord && (
          <ToolButton id="record-button" label={fileRecording ? 'Stop recording' : 'Record'} active={!!fileRecording} onClick={toggleRecording}>
            {fileRecording ? <CircleStop size={20} /> : <CircleDot size={20} />}
          </ToolButton>
        )}
        {mayStream && (
          <ToolButton id="live-button" label={liveStream ? 'Stop live' : 'Go live'} active={!!liveStream} onClick={toggleLive}>
            {liveStream ? <RadioTower size={20} /> : <Radio size={20} />}
          </ToolButton>
        )}
        <ToolButton
          id="toggle-chat"
          label="Chat"
          active={panel === 'chat'}
          badge={unread}
          onClick={() => onPanel(panel === 'chat' ? null : 'chat')}
        >
          <MessageSquare size={20} />
        </ToolButton>
        <ToolButton
          id="toggle-participants"
          label="Participants"
          active={panel === 'participants'}
          // Knocks wait for a moderator: seen even with the panel closed.
          badge={conference.knocks.value.size}
          onClick={() => onPanel(panel === 'participants' ? null : 'participants')}
        >
          <Users size={20} />
        </ToolButton>
        <ToolButton
          id="toggle-recordings"
          label="Recordings"
          active={panel === 'recordings'}
          onClick={() => onPanel(panel === 'recordings' ? null : 'recordings')}
        >
          <FolderDown size={20} />
        </ToolButton>
        <ToolButton
          id="toggle-layout"
          label={speakerView ? 'Grid view' : 'Speaker view'}
          active={speakerView}
          onClick={() => onSpeakerView(!speakerView)}
        >
          {speakerView ? <LayoutGrid size={20} /> : <Presentation size={20} />}
        </ToolButton>
      </div>
      <div class="toolbar-group">
        <button id="leave" class="leave" onClick={() => conference.leave()} title="Leave the meeting">
          <PhoneOff size={20} /> <span class="leave-label">Leave</span>
        </button>
        {mayEnd && (
          <button
            id="end-meeting"
            class="leave"
            onClick={() => window.confirm('End the meeting for everyone?') && void conference.endMeeting()}
            title="End the meeting for everyone"
          >
            <span class="leave-label">End for all</span>
          </button>
        )}
      </div>
      {liveDialog && !liveStream && <LiveDialog onStart={startLive} onClose={() => setLiveDialog(false)} />}
    </footer>
  );
}
