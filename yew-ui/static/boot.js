// Starts the app: a file of its own, not an inline script, so the server's
// Content-Security-Policy can refuse every inline script.
import init from "/pkg/yew-ui.js";

init({ module_or_path: "/pkg/yew-ui_bg.wasm" }).catch((error) => {
  document.body.textContent = "videocall could not start: " + error;
});
