// The portal's static files served from memory: the stylesheet and the favicon. (The MFA Settings page's script is
// a file of its own, public/mfa-settings.mjs.) No external assets: the CSP allows 'self' only.

/**
 * /favicon.ico: a 32×32 PNG inside an ICO container (a blue shield with a check mark on the header's navy).
 * Served before the session and the MFA gate, so browsers never log a 401 or 404 for it.
 */
export const FAVICON_ICO: Buffer = Buffer.from(
  'AAABAAEAICAAAAEAIADWAAAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgGAAAAc3p69AAAAJ1JREFUeNrtl8kNgDAMBNMFEl/KoBjKpazwyoPIiu/YHCvly4wUEa9L6bJse/U6ZRRPMCoyEw5KhApEwG8SqQXW4zQ5v8C3BFpCBPpMFYASKmB+BdCHKXATgREAg7sINBAFrhLAJDRw1jDCJCRw9jSk/G4cuGgcQxJSuLgPSN9900JiAVc3Ii3cpJJp4M/ohK+u5rk2o/DdMMV2HJULBa+EtZ4K2PEAAAAASUVORK5CYII=',
  'base64',
);

/** /assets/portal.css: a desktop layout, and below 40rem (phones) a two-row header and tables as stacked cards. */
export const PORTAL_CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f7;color:#1d2330}
a{color:#1a5fc7}
.top{display:flex;align-items:center;gap:1rem;padding:.7rem 1.5rem;background:#17233b;color:#fff}
.top a{color:#fff;text-decoration:none}
.brand{font-weight:700;font-size:1.05rem;white-space:nowrap}
.tenant{background:#2f4470;border-radius:999px;padding:.1rem .7rem;font-size:.8rem;white-space:nowrap}
.top nav{display:flex;gap:1.1rem;flex:1;align-items:center}
.top nav a{opacity:.85;white-space:nowrap;padding:.2rem 0;border-bottom:2px solid transparent}
.top nav a:hover{opacity:1}
.top nav a[aria-current=page]{opacity:1;border-bottom-color:#8ec1ff}
.who{font-size:.85rem;opacity:.85;white-space:nowrap;margin-left:auto}
.top nav~.who{margin-left:0}
.top form{margin:0}
.top button{background:transparent;border:1px solid #8ea0c4;color:#fff;border-radius:4px;padding:.3rem .8rem;cursor:pointer;font:inherit;white-space:nowrap}
main{max-width:60rem;margin:2rem auto;padding:0 1.5rem}
body[data-page=mfa-settings] main{max-width:74rem}
.card{background:#fff;border-radius:8px;padding:1.25rem 1.5rem;margin:0 0 1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
.message{max-width:36rem;margin:6vh auto}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.1rem;margin:0 0 .75rem}
.tool h2 a{text-decoration:none}
.crumbs{color:#5a6275;font-size:.85rem;margin:0 0 .25rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{font-weight:600;color:#39414f}
.facts th{width:14rem}
thead th{background:#f6f7f9}
.chip{display:inline-block;background:#e8eefb;color:#1d3b78;border-radius:999px;padding:0 .6rem;margin:0 .25rem .25rem 0;font-size:.85rem}
.none{color:#7a8190;font-style:italic}
.toggle{display:inline-block;border-radius:999px;padding:.05rem .8rem;font-weight:600}
.toggle.on{background:#d9f2e1;color:#126632}
.toggle.off{background:#f1e3e3;color:#8b1c1c}
.yes{color:#8b1c1c;font-weight:600}
.no{color:#126632;font-weight:600}
.trust{font-weight:600}
.trust-trusted{color:#126632}
.trust-not-trusted{color:#8b1c1c}
.trust-unknown{color:#8a5a00}
.notice{background:#fff4ce;border:1px solid #e8d48a;border-radius:6px;padding:.6rem .9rem}
.error{background:#fce8e6;border:1px solid #f0b5ae;border-radius:6px;padding:.6rem .9rem;color:#8b1c1c;margin:0 0 1rem}
.error ul{margin:.4rem 0 0;padding-left:1.2rem}
.ok{background:#e6f4ea;border:1px solid #a8d5b5;border-radius:6px;padding:.6rem .9rem;color:#126632}
.muted{color:#5a6275;font-size:.85rem}
.code{color:#5a6275;font-size:.85rem;margin:1rem 0 0}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;margin-top:1.2rem}
.actions form{margin:0}
.button{display:inline-block;padding:.55rem 1.1rem;border:0;border-radius:6px;background:#1a5fc7;color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.button.secondary{background:#e8ebf1;color:#1d2330}
.login{max-width:24rem;margin:8vh auto}
.login label{display:block;margin:.8rem 0 .25rem;font-weight:600}
.login input,.login select{width:100%;padding:.55rem;font:inherit;border:1px solid #c4c8d0;border-radius:6px;background:#fff}
.login button{width:100%;margin-top:1.2rem;padding:.65rem;border:0;border-radius:6px;background:#1a5fc7;color:#fff;font:inherit;font-weight:600;cursor:pointer}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;overflow-wrap:anywhere}
h3{font-size:1rem;margin:1.5rem 0 .25rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
fieldset{border:0;margin:0;padding:0;min-width:0}
input[type=text],input[type=password],input[type=number],input[type=datetime-local]{font:inherit;padding:.4rem .55rem;border:1px solid #c4c8d0;border-radius:6px;background:#fff;max-width:100%}
input[type=text],input[type=password]{width:26rem}
input.narrow{width:6rem}
input:focus-visible,button:focus-visible{outline:2px solid #1a5fc7;outline-offset:1px}
button.small{font:inherit;font-size:.9rem;padding:.3rem .75rem;border:0;border-radius:6px;background:#1a5fc7;color:#fff;cursor:pointer;white-space:nowrap}
button.small.secondary{background:#e8ebf1;color:#1d2330}
button:disabled{opacity:.55;cursor:default}
.field{display:grid;grid-template-columns:12rem 1fr;gap:.5rem 1rem;padding:.7rem 0;border-bottom:1px solid #e3e6ec}
.field:last-child{border-bottom:0}
.field-label{font-weight:600;color:#39414f;padding-top:.35rem}
.field-control{min-width:0}
.hint{color:#5a6275;font-size:.85rem;margin:.3rem 0 0}
.field-error{color:#8b1c1c;font-size:.9rem;font-weight:600;margin:.35rem 0 0}
.field-error span{display:block}
.field.invalid input,.field.invalid .chips-editor,.field.invalid .choices,.field.invalid table{border-color:#c62828;box-shadow:0 0 0 1px #c62828}
.switch{position:relative;display:inline-flex;align-items:center;gap:.6rem;cursor:pointer;padding-top:.2rem}
.switch input{position:absolute;left:0;top:.2rem;z-index:1;opacity:0;width:2.6rem;height:1.4rem;margin:0;cursor:pointer}
.slider{width:2.6rem;height:1.4rem;border-radius:999px;background:#c9ced8;position:relative;transition:background .15s}
.slider::after{content:"";position:absolute;top:.15rem;left:.15rem;width:1.1rem;height:1.1rem;border-radius:50%;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.3);transition:left .15s}
.switch input:checked+.slider{background:#1e8a4c}
.switch input:checked+.slider::after{left:1.35rem}
.switch input:focus-visible+.slider{outline:2px solid #1a5fc7;outline-offset:2px}
.switch-state{font-weight:600}
.chips-editor{display:flex;flex-wrap:wrap;align-items:center;gap:.35rem;border:1px solid #c4c8d0;border-radius:6px;padding:.35rem .45rem;background:#fff}
.chip-list{display:contents;list-style:none}
.chips-editor .chip{display:inline-flex;align-items:center;gap:.2rem;margin:0;padding:.05rem .2rem .05rem .6rem}
.chip-remove{border:0;background:transparent;color:#1d3b78;font-size:1.05rem;line-height:1;padding:0 .3rem;border-radius:999px;cursor:pointer}
.chip-remove:hover{background:#cfdaf5}
.chip-none{color:#7a8190;font-style:italic;font-size:.85rem}
.chip-adder{display:inline-flex;gap:.35rem;flex:1;min-width:12rem}
.chip-adder input{flex:1;min-width:6rem;width:auto;border:0;padding:.25rem}
.chip-adder input:focus-visible{outline:0}
.choices{display:flex;flex-direction:column;gap:.3rem;padding-top:.25rem}
.choice{display:flex;gap:.5rem;align-items:baseline;cursor:pointer}
.inline-inputs{display:inline-flex;flex-wrap:wrap;gap:.5rem;align-items:center}
#temporary-bypass tr.expired td{color:#8a909c;background:#f6f7f9}
#temporary-bypass tr.expired td:first-child{text-decoration:line-through}
#temporary-bypass tr.added td{background:#f2f8ff}
.bypass-add{display:grid;grid-template-columns:minmax(8rem,1fr) auto minmax(10rem,2fr) auto;gap:.5rem;align-items:end;margin-top:.8rem}
.bypass-add label{display:flex;flex-direction:column;font-size:.85rem;font-weight:600;color:#39414f;gap:.2rem}
.bypass-add input{width:100%}
.test-configuration{display:flex;flex-direction:column;align-items:flex-start;gap:.6rem;padding:.7rem 0 0 13rem}
#test-result{width:100%}
#test-result p{margin:.2rem 0}
.field.wide{display:block}
.savebar{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;background:#fff;border-top:1px solid #e3e6ec;box-shadow:0 -2px 6px rgba(0,0,0,.06);padding:.75rem 1.5rem;margin:0 0 1.25rem;border-radius:8px}
.savebar.dirty{position:sticky;bottom:0;z-index:1;border-color:#e8d48a}
#unsaved-note{color:#8a5a00;font-weight:600}
#settings-status{margin:0 0 1rem}
#settings-status p{margin:.2rem 0}
#settings-status ul{margin:.3rem 0 0;padding-left:1.2rem}
#changed-elsewhere{margin:0 0 1rem}
.grace{color:#8a5a00;font-weight:600}
.account{font-weight:600}
.account-enrolled{color:#126632}
.account-not-enrolled{color:#8a5a00}
.account-not-in-duo,.account-error{color:#5a6275}
.recovery-buttons{display:flex;flex-wrap:wrap;gap:.4rem}
.staff-result{margin-top:.5rem;font-size:.9rem}
.staff-result p{margin:.2rem 0}
.bypass-code{font-size:1.15rem;font-weight:700;letter-spacing:.08em;background:#fff;padding:.05rem .4rem;border-radius:4px}
.activation-link{word-break:break-all}
#staff-list td{vertical-align:top}
@media (max-width:40rem){
.top{display:grid;grid-template-columns:auto 1fr auto;gap:.5rem .75rem;padding:.6rem 1rem}
.tenant{justify-self:start}
.who{display:none}
.top nav{grid-column:1/-1;grid-row:2;gap:1.25rem;overflow-x:auto;font-size:.95rem}
main{margin:1rem auto;padding:0 .75rem}
.card{padding:1rem}
.message{margin:2vh auto}
.login{margin:3vh auto}
.facts tr{display:block;padding:.45rem 0;border-bottom:1px solid #e3e6ec}
.facts th,.facts td{display:block;width:auto;padding:0;border:0}
.facts th{font-size:.8rem;color:#5a6275;font-weight:600}
table.list thead{display:none}
table.list tr{display:block;border:1px solid #e3e6ec;border-radius:6px;padding:.4rem .7rem;margin:0 0 .6rem}
table.list td{display:block;position:relative;border:0;padding:.2rem 0 .2rem 7rem;min-height:1.9rem}
table.list td::before{content:attr(data-label);position:absolute;left:0;top:.25rem;width:6.5rem;font-weight:600;color:#5a6275;font-size:.85rem}
.field{display:block;padding:.6rem 0}
.field-label{display:block;padding:0 0 .3rem}
input[type=text],input[type=password]{width:100%}
.chip-adder{min-width:0;flex-basis:100%}
.bypass-add{grid-template-columns:1fr}
.test-configuration{padding-left:0}
.savebar{padding:.6rem .75rem}
}
`.trimStart();
