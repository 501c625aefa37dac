import { access, constants } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['MARCUS_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, driven by playwright-core (its own browser
 * download cannot work on these machines). A missing browser is a failure
 * with the fix, never a skip.
 */
export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(
      `the live page's browser test needs Chromium at ${CHROMIUM} and it is missing: ` +
        'apt-get update && apt-get install -y chromium (.ci/run does it), or set MARCUS_TEST_CHROMIUM to a Chromium binary',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
