// Catches what the server's Content-Security-Policy blocks in a page: each
// violation the browser reports (Chromium and Firefox alike fire
// `securitypolicyviolation`), kept in the page for a test to read.
import type { Page } from 'puppeteer-core';

declare global {
  interface Window {
    cspViolations?: string[];
  }
}

/** Call before the page loads (it hooks every document the page opens). */
export async function watchContentSecurity(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.cspViolations!.push(`${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} in ${event.sourceFile || event.documentURI}`);
    });
  });
}

/** What the policy blocked in the page's current document so far. */
export function contentSecurityViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => window.cspViolations ?? ['the page was not watched (watchContentSecurity)']);
}
