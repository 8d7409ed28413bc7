// Fills in the built-in status page (a file of its own: the CSP allows no inline script).
fetch("/api/v1/config").then(r => r.json()).then(config => {
  document.getElementById("ws").textContent = `${config.websocket_url}/lobby/{user}/{room}`;
  if (config.webtransport_url) {
    document.getElementById("wt").textContent = `${config.webtransport_url}/lobby/{user}/{room}`;
  }
});
fetch("/readyz").then(r => {
  const el = document.getElementById("ready");
  el.textContent = r.ok ? "(ready)" : "(not ready)";
  el.className = r.ok ? "ok" : "bad";
});
