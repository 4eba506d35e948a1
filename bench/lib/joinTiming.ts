// Join -> first decoded remote video frame, timed inside the page through the
// real UI: what a user waits for after clicking Join.
import type { Page } from 'puppeteer-core';

/** Clicks Join and resolves with the ms until a remote video element shows a decoded frame. */
export function timeJoin(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        // A mark too, so a bench can time what happens in the page against the click.
        const start = performance.mark('join-click').startTime;
        (document.querySelector('#join-button') as HTMLButtonElement).click();
        const poll = setInterval(() => {
          const remote = [...document.querySelectorAll<HTMLVideoElement>('.tile video:not(.mirrored)')];
          if (remote.some((v) => v.readyState >= 2 && v.videoWidth > 0)) {
            clearInterval(poll);
            resolve(performance.now() - start);
          }
        }, 2);
      }),
  );
}
