// The portal's only static files, served from memory under /assets: one stylesheet and the MFA Settings page's
// small script that reloads the page when the policy file changes. No external assets (the CSP allows 'self').

/** /assets/portal.css */
export const PORTAL_CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f7;color:#1d2330}
a{color:#1a5fc7}
.top{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.7rem 1.5rem;background:#17233b;color:#fff}
.top a{color:#fff;text-decoration:none}
.brand{font-weight:700;font-size:1.05rem}
.tenant{background:#2f4470;border-radius:999px;padding:.1rem .7rem;font-size:.8rem}
.top nav{display:flex;gap:1rem;flex:1;flex-wrap:wrap;align-items:center}
.top nav a{opacity:.9}
.top nav a[aria-current=page]{opacity:1;text-decoration:underline}
.menu{opacity:.75;font-size:.85rem}
.top form{margin:0}
.top button{background:transparent;border:1px solid #8ea0c4;color:#fff;border-radius:4px;padding:.3rem .8rem;cursor:pointer;font:inherit}
main{max-width:60rem;margin:2rem auto;padding:0 1.5rem}
.card{background:#fff;border-radius:8px;padding:1.25rem 1.5rem;margin:0 0 1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.1rem;margin:0 0 .75rem}
.crumbs{color:#5a6275;font-size:.85rem;margin:0 0 .25rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{font-weight:600;color:#39414f;width:14rem}
thead th{width:auto;background:#f6f7f9}
.chip{display:inline-block;background:#e8eefb;color:#1d3b78;border-radius:999px;padding:0 .6rem;margin:0 .25rem .25rem 0;font-size:.85rem}
.none{color:#7a8190;font-style:italic}
.toggle{display:inline-block;border-radius:999px;padding:.05rem .8rem;font-weight:600}
.toggle.on{background:#d9f2e1;color:#126632}
.toggle.off{background:#f1e3e3;color:#8b1c1c}
.yes{color:#8b1c1c;font-weight:600}
.no{color:#126632;font-weight:600}
.trust-trusted{color:#126632;font-weight:600}
.trust-not-trusted{color:#8b1c1c;font-weight:600}
.trust-unknown{color:#8a5a00;font-weight:600}
.notice{background:#fff4ce;border:1px solid #e8d48a;border-radius:6px;padding:.6rem .9rem}
.error{background:#fce8e6;border:1px solid #f0b5ae;border-radius:6px;padding:.6rem .9rem;color:#8b1c1c}
.ok{background:#e6f4ea;border:1px solid #a8d5b5;border-radius:6px;padding:.6rem .9rem;color:#126632}
.muted{color:#5a6275;font-size:.85rem}
.login{max-width:24rem;margin:8vh auto}
.login label{display:block;margin:.8rem 0 .25rem;font-weight:600}
.login input,.login select{width:100%;padding:.55rem;font:inherit;border:1px solid #c4c8d0;border-radius:6px;background:#fff}
.login button{width:100%;margin-top:1.2rem;padding:.65rem;border:0;border-radius:6px;background:#1a5fc7;color:#fff;font:inherit;font-weight:600;cursor:pointer}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
`.trimStart();

/**
 * /assets/mfa-settings.js: every 2 s, asks whether the policy version (or the last refused edit) changed and
 * reloads the page when it did, so an admin sees an edit of the JSON file without pressing reload.
 */
export const SETTINGS_JS = `
(function () {
  'use strict';
  var root = document.getElementById('mfa-settings');
  if (!root || !window.fetch) return;
  var seen = root.getAttribute('data-revision');
  var timer = setInterval(function () {
    fetch('/admin/mfa-settings/revision', { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) {
        if (!res.ok) throw new Error('status ' + res.status);
        return res.json();
      })
      .then(function (body) {
        if (body && body.revision && body.revision !== seen) window.location.reload();
      })
      .catch(function () {
        clearInterval(timer); // signed out or MFA needed again: stop polling, the next navigation handles it
      });
  }, 2000);
})();
`.trimStart();
