import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Logger } from '../../common/logger.ts';

// The page's contract (web/src/ui/recorder): it reads window.recorderSecret to
// join, then sets body data-recorder-ready, or data-recorder-ended with why.
const READY = "document.body.dataset.recorderReady === 'true' || !!document.body.dataset.recorderEnded";
const ENDED = 'document.body.dataset.recorderEnded || null';
/**
 * From Chromium's start to the page in the room: 5-20 s on a loaded machine. Without a
 * limit, a launch whose display died under it could hold a recording's recovery (and its
 * recorder slot) for minutes or for good: puppeteer's DevTools commands wait 180 s, and its
 * wait for the first targets of a new browser has no limit at all.
 */
const LAUNCH_TIMEOUT_MS = 60_000;
/** Each DevTools command (puppeteer's default is 180 s): the recording's checks and recovery wait on them. */
const PROTOCOL_TIMEOUT_MS = 30_000;
/** How long a graceful close may take before Chromium is killed. */
const CLOSE_GRACE_MS = 5000;

/** What every Chromium here runs with: as root, no GPU, no background traffic or first-run screens. */
export const CHROMIUM_BASE_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface RecorderBrowserOptions {
  chromiumPath: string;
  /** The recorder layout of the room on the bridge's web client. */
  url: string;
  /** Flags that let Chromium trust the bridge's certificate (see chromiumTrustArgs). */
  trustArgs: string[];
  secret: string | undefined;
  display: string;
  pulseServer: string;
  width: number;
  height: number;
  profileDir: string;
  logger: Logger;
}

interface RecorderBrowserEvents {
  /** Chromium or the page died. */
  crashed: [reason: string];
}

/**
 * Debian's Chromium showing the room's recorder layout full screen on a
 * virtual display, its sound going to the recording's audio sink. It joins
 * as the hidden recorder. Talking over a pipe (not a port) means Chromium
 * exits when its worker dies.
 */
export class RecorderBrowser extends EventEmitter<RecorderBrowserEvents> {
  readonly #browser: Browser;
  readonly #page: Page;
  #closing = false;

  private constructor(browser: Browser, page: Page) {
    super();
    this.#browser = browser;
    this.#page = page;
    browser.once('disconnected', () => this.#crashed('Chromium exited'));
    page.once('error', (error) => this.#crashed(`the page crashed: ${error.message}`));
  }

  /** Chromium started and in the room within LAUNCH_TIMEOUT_MS, or killed and an error. */
  static async launch(options: RecorderBrowserOptions): Promise<RecorderBrowser> {
    // Aborting kills Chromium's process group, whatever step the launch is stuck in.
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Chromium did not join the room within ${LAUNCH_TIMEOUT_MS / 1000} s`)), LAUNCH_TIMEOUT_MS);
    });
    try {
      return await Promise.race([RecorderBrowser.#join(options, abort.signal), deadline]);
    } catch (error) {
      // Not left to puppeteer's cleanup of a failed launch, which first asks the browser to close (for up to
      // PROTOCOL_TIMEOUT_MS) and only then kills it: a half-started Chromium is gone when this rejects.
      abort.abort();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  static async #join(options: RecorderBrowserOptions, signal: AbortSignal): Promise<RecorderBrowser> {
    fs.mkdirSync(options.profileDir, { recursive: true });
    const browser = await puppeteer.launch({
      signal,
      protocolTimeout: PROTOCOL_TIMEOUT_MS,
      executablePath: options.chromiumPath,
      headless: false,
      pipe: true,
      userDataDir: options.profileDir,
      env: { ...process.env, DISPLAY: options.display, PULSE_SERVER: options.pulseServer },
      defaultViewport: null,
      ignoreDefaultArgs: ['--enable-automation', '--mute-audio'],
      args: [
        ...CHROMIUM_BASE_ARGS,
        ...options.trustArgs,
        '--no-default-browser-check',
        '--kiosk',
        '--hide-scrollbars',
        '--window-position=0,0',
        `--window-size=${options.width},${options.height}`,
        '--autoplay-policy=no-user-gesture-required',
        // Keep painting and playing even though nobody looks at the window.
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
        '--disable-features=Translate,MediaRouter,DialMediaRouteProvider',
      ],
    });
    try {
      const page = (await browser.pages())[0] ?? (await browser.newPage());
      await page.evaluateOnNewDocument(`window.recorderSecret = ${JSON.stringify(options.secret ?? '')};`);
      await page.goto(options.url);
      await page.waitForFunction(READY, { timeout: 20_000 });
      const ended = await page.evaluate(ENDED);
      if (ended) throw new Error(`the recorder could not join: ${ended}`);
      options.logger.debug({ url: options.url }, 'recorder page joined');
      return new RecorderBrowser(browser, page);
    } catch (error) {
      await closeOrKill(browser);
      throw error;
    }
  }

  /** Why the page left the room (closed, kicked), or null while it is in. */
  async ended(): Promise<string | null> {
    return ((await this.#page.evaluate(ENDED).catch(() => null)) as string | null) || null;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await closeOrKill(this.#browser);
  }

  #crashed(reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.emit('crashed', reason);
    void closeOrKill(this.#browser);
  }
}

/**
 * Closes Chromium; if that fails or takes over CLOSE_GRACE_MS (puppeteer waits
 * for the process to exit, without a limit), its process group is killed, so
 * no renderer or helper of a half-started browser is left behind.
 */
async function closeOrKill(browser: Browser): Promise<void> {
  const closed = browser.close().then(
    () => true,
    () => false,
  );
  const grace = new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_GRACE_MS).unref());
  if (await Promise.race([closed, grace])) return;
  const pid = browser.process()?.pid;
  try {
    // puppeteer starts Chromium as the leader of a process group of its own.
    if (pid) process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
