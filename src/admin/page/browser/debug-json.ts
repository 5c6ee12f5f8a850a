// Reads the admin server's debug JSON, relative to the page (so a path prefix of a proxy in front keeps working).

const FETCH_TIMEOUT_MS = 3000;

/**
 * GET debug/PATH as JSON of type T: the server's answer is trusted to have the documented shape
 * (api-types.ts), as `spillway status` trusts it. Rejects on a timeout or a status other than 2xx.
 */
export async function getDebugJson<T>(path: string): Promise<T> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch('debug/' + path, { cache: 'no-store', signal: abort.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()) as T;
  } finally {
    clearTimeout(timer);
  }
}
