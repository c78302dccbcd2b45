import { type Browser, chromium } from 'playwright-core';
import { useForFile } from './hooks.ts';

/**
 * Debian's Chromium, headless, through playwright-core (no browser download). Background networking is off:
 * this machine's closed network would otherwise refuse Chromium's own connections at every start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The test file's Chromium: launched before its tests, closed after them. */
export function useChromium(): Browser {
  return useForFile('Chromium', launchChromium, (browser) => browser.close());
}
