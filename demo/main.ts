/**
 * Entry: check cross-origin isolation first (without it there is no SharedArrayBuffer, so no
 * shared WebAssembly.Memory), then load the app. Errors end up on the page, never only in the
 * console.
 */
import wasmUrl from '../build/hmmsim.wasm?url';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function showError(msg: string): void {
  const el = $('error');
  el.hidden = false;
  el.textContent = '';
  const b = document.createElement('strong');
  b.textContent = 'Something went wrong: ';
  el.append(b, document.createTextNode(msg));
  document.body.dataset.state = 'error';
}

window.addEventListener('error', (e) => showError(e.message || String(e.error)));
window.addEventListener('unhandledrejection', (e) => showError(e.reason instanceof Error ? e.reason.message : String(e.reason)));

function showIsolationMessage(): void {
  const el = $('isolation');
  el.hidden = false;
  el.innerHTML = `
    <strong>This page is not cross-origin isolated, so the simulator cannot run.</strong>
    The roles run in Web Workers on one shared WebAssembly memory, and browsers only allow a
    SharedArrayBuffer on a cross-origin isolated page. Serve the page with both of these response headers:
    <pre>Cross-Origin-Opener-Policy: same-origin
Cross-Origin-Embedder-Policy: require-corp</pre>
    <p><code>npm run demo</code> and <code>npx vite preview --config demo/vite.config.ts</code> send them; for any
    other static host, see <code>demo/README.md</code>.</p>`;
  $('status').textContent = 'not cross-origin isolated: Start is disabled';
  document.body.dataset.state = 'not-isolated';
}

async function boot(): Promise<void> {
  if (!globalThis.crossOriginIsolated || typeof SharedArrayBuffer === 'undefined') {
    showIsolationMessage();
    return;
  }
  const { startApp } = await import('./app.js');
  await startApp(new URL(wasmUrl, document.baseURI).href);
}

boot().catch((e: unknown) => showError(e instanceof Error ? e.message : String(e)));
