import { useEffect, useRef } from 'preact/hooks';

/** A live bar showing how loud a local microphone is (WebAudio analyser). */
export function LevelMeter({ track }: { track: MediaStreamTrack }) {
  const bar = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const context = new AudioContext();
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let frame = 0;
    const draw = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      const level = Math.min(1, Math.max(0, (20 * Math.log10(rms || 1e-8) + 60) / 50));
      if (bar.current) bar.current.style.transform = `scaleX(${level})`;
      frame = requestAnimationFrame(draw);
    };
    draw();
    return () => {
      cancelAnimationFrame(frame);
      void context.close();
    };
  }, [track]);

  return (
    <div class="level-meter" aria-hidden="true">
      <div ref={bar} class="level-meter-bar" />
    </div>
  );
}
