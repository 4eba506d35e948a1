// Join -> first decoded remote video frame, timed inside the page through the
// real UI: what a user waits for after clicking Join.
import type { Page } from 'puppeteer-core';

/** Opens a room's join form with the name typed in, ready to click. */
export async function openJoinForm(page: Page, url: string, displayName: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#display-name');
  await page.$eval('#display-name', (el) => ((el as HTMLInputElement).value = ''));
  await page.type('#display-name', displayName);
  await page.waitForSelector('#join-button:not([disabled])');
}

/** Clicks Join and resolves with the ms until a remote video element shows a decoded frame. */
export function timeJoin(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const start = performance.now();
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
