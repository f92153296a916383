// Reads a whole HTTP response body for the raw-request helpers (emulator and reliability tests).

import type { IncomingMessage } from 'node:http';

/** The body as text, and parsed as JSON when it is JSON (else `json` is undefined). */
export function readBody(res: IncomingMessage): Promise<{ text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ text, json });
    });
  });
}
