// Renders the README's screenshots (docs/*.png) from a real bridge and real
// browsers with fake cameras: npm run screenshots
import path from 'node:path';
import { startBridge } from '../test/helpers/bridge.ts';
import { joinThroughUi, launchBrowser } from '../test/helpers/browser.ts';
import { waitFor } from '../test/helpers/wait.ts';

const docs = path.resolve(import.meta.dirname, '../docs');
const bridge = await startBridge({ MEDIA_WORKERS: '1' });
const browsers = [];
try {
  const pages = [];
  for (const name of ['Maya Patel', 'Jonas Weber', 'Aiko Tanaka', 'Sam Rivera']) {
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    await joinThroughUi(page, `${bridge.url}/design-review`, name);
    pages.push(page);
  }
  const [maya, jonas, aiko, sam] = pages as [typeof pages[0], typeof pages[0], typeof pages[0], typeof pages[0]];
  await aiko.click('#toggle-camera');
  await sam.click('#toggle-mic');
  await jonas.click('#toggle-hand');
  for (const [page, text] of [[jonas, 'Can everyone see the new onboarding flow?'], [aiko, 'Yes! The second step reads much better now.']] as const) {
    await page.click('#toggle-chat');
    await page.type('#chat-input', text);
    await page.keyboard.press('Enter');
  }
  await maya.click('#toggle-chat');
  await waitFor('chat at Maya', () => maya.$$eval('.chat-text', (t) => t.length === 2));
  await waitFor('tiles at Maya', () => maya.$$eval('[data-testid="tile"] video', (v) => v.length === 3));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // let video frames settle for the picture
  await maya.screenshot({ path: path.join(docs, 'meeting.png') });

  const guest = await browsers[0]!.newPage();
  await guest.goto(`${bridge.url}/design-review`);
  await guest.$eval('#display-name', (el) => ((el as HTMLInputElement).value = ''));
  await guest.type('#display-name', 'Lena Fischer');
  await guest.waitForSelector('#join-button:not([disabled])');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await guest.screenshot({ path: path.join(docs, 'prejoin.png') });
  await guest.goto(bridge.url);
  await guest.screenshot({ path: path.join(docs, 'welcome.png') });
  console.log(`screenshots written to ${docs}`);
} finally {
  for (const browser of browsers) await browser.close();
  await bridge.stop();
}
