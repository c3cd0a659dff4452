/* mg_web_assets: the web pages' stylesheet and script, embedded so a page
 * fetches nothing from anywhere. The script reads only what the server
 * wrote into data- attributes it controls (numbers), never a label value;
 * every page works without it. */
#ifndef MG_WEB_ASSETS_H
#define MG_WEB_ASSETS_H

static const char mg_web_css[] =
    ":root{--fg:#1d2329;--mut:#5d6b78;--bg:#f6f7f9;--card:#fff;--line:#dde2e7;"
    "--acc:#e6522c;--ok:#2e7d32;--warn:#b26a00;--err:#c62828;--bar:#4a7fc1}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "header{background:#262c33;color:#fff;display:flex;flex-wrap:wrap;align-items:center;"
    "gap:4px 16px;padding:8px 16px}\n"
    "header .brand{font-weight:700;font-size:16px;color:#fff;text-decoration:none}\n"
    "nav{display:flex;flex-wrap:wrap;gap:2px}\n"
    "nav a{color:#cfd6dd;text-decoration:none;padding:6px 10px;border-radius:4px}\n"
    "nav a:hover{background:#3a424b;color:#fff}\n"
    "nav a.on{background:var(--acc);color:#fff}\n"
    "main{max-width:1240px;margin:0 auto;padding:16px}\n"
    "h1{font-size:22px;margin:4px 0 16px}h2{font-size:17px;margin:20px 0 8px}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px}\n"
    ".card .k{color:var(--mut);font-size:12px;text-transform:uppercase;letter-spacing:.03em}\n"
    ".card .v{font-size:20px;font-weight:600;word-break:break-word}\n"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:10px}\n"
    ".chart{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px}\n"
    ".chart svg{width:100%;height:160px;display:block}\n"
    ".chart .t{font-weight:600;margin-bottom:4px}\n"
    ".chart .l{color:var(--mut);font-size:12px}\n"
    ".tw{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:6px}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}\n"
    "th{background:#eef1f4;font-weight:600;white-space:nowrap}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;"
    "word-break:break-all}\n"
    ".lbl{display:inline-block;background:#e8edf3;border-radius:3px;padding:0 5px;margin:1px 2px;"
    "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}\n"
    ".st{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;"
    "font-weight:600;text-transform:uppercase}\n"
    ".st.ok,.st.inactive{background:var(--ok)}.st.pending,.st.unknown,.st.shadow{background:var(--warn)}\n"
    ".st.firing,.st.err,.st.dropped{background:var(--err)}.st.enforce{background:var(--mut)}\n"
    ".bar{background:#e8edf3;border-radius:3px;height:10px;min-width:80px;position:relative}\n"
    ".bar i{display:block;height:100%;background:var(--bar);border-radius:3px}\n"
    ".bar.hot i{background:var(--err)}\n"
    "details{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:8px 0}\n"
    "summary{cursor:pointer;padding:8px 12px;font-weight:600}\n"
    "details>div{padding:0 12px 10px}\n"
    ".muted{color:var(--mut)}.err{color:var(--err)}\n"
    "form{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px;"
    "margin-bottom:12px;display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:8px}\n"
    "form label{display:flex;flex-direction:column;gap:2px;font-size:12px;color:var(--mut)}\n"
    "input,select,button{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:4px}\n"
    "button{background:var(--acc);color:#fff;border:0;cursor:pointer;align-self:end}\n"
    ".filter{width:100%;max-width:360px;margin:0 0 8px}\n"
    "@media (max-width:640px){main{padding:10px}h1{font-size:19px}.card .v{font-size:17px}"
    "th,td{padding:5px 6px}.hide-s{display:none}"
    ".cards{grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}"
    "table.stack thead{display:none}table.stack tr{display:block;border-bottom:1px solid var(--line)}"
    "table.stack td{display:block;border:0;padding:3px 8px}table.stack td.n{text-align:left}}\n";

/* Fills elements carrying data-ts (seconds since the epoch, written by the
 * server) with the browser's local time, filters tables through an input
 * with data-filter, and marks the current page in the menu. */
static const char mg_web_js[] =
    "(function(){'use strict';\n"
    "document.querySelectorAll('[data-ts]').forEach(function(e){\n"
    "  var t=parseFloat(e.getAttribute('data-ts'));\n"
    "  if(t>0){e.title=e.textContent;e.textContent=new Date(t*1000).toLocaleString();}});\n"
    "document.querySelectorAll('input[data-filter]').forEach(function(inp){\n"
    "  var tb=document.getElementById(inp.getAttribute('data-filter'));\n"
    "  if(!tb)return;\n"
    "  inp.addEventListener('input',function(){\n"
    "    var q=inp.value.toLowerCase();\n"
    "    tb.querySelectorAll('tbody tr').forEach(function(r){\n"
    "      r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});});\n"
    "var p=location.pathname;\n"
    "document.querySelectorAll('nav a').forEach(function(a){\n"
    "  if(a.getAttribute('href')===p)a.className='on';});\n"
    "document.body.setAttribute('data-ready','1');\n"
    "})();\n";

#endif
