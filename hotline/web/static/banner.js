// Every page loads this: in demo mode it marks the page as simulated data,
// so nobody mistakes a demo for the real hotline.
(async () => {
  try {
    const r = await fetch("/api/health", {cache: "no-store"});
    const h = await r.json();
    if (!h.demo) return;
    const b = document.createElement("div");
    b.id = "demo-banner";
    b.setAttribute("role", "note");
    b.textContent = "演示模式 · 本页全部为模拟坐席与模拟来电，不是真实市民数据";
    b.style.cssText = "position:sticky;top:0;z-index:1000;background:#6941c6;color:#fff;font-weight:bold;"
      + "padding:.35rem .8rem;margin:0 0 .5rem;text-align:center;letter-spacing:.05em";
    document.body.prepend(b);
  } catch (e) { /* the status page shows what is wrong */ }
})();
