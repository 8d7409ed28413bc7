// The harness self-test page's script (a file of its own: the server's Content-Security-Policy
// allows no inline script).
const result = { camera: 'pending', webtransport: 'pending', welcomeBytes: 0, screen: 'idle' };
window.selfTest = () => JSON.stringify(result);
// The page's own status in the app's `window.videocallState()` format, so the harness's
// reading of it is exercised too: connected once the WebTransport session is up, and the
// camera frames drawn counted as sent video.
let framesDrawn = 0;
window.videocallState = () => JSON.stringify({
  connected: result.webtransport === 'received',
  transport: result.webtransport === 'received' ? 'webtransport' : null,
  sent: { video: framesDrawn, audio: 0, screen: 0 },
  peers: [],
});

function drawInto(canvas, stream) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  const ctx = canvas.getContext('2d');
  const draw = () => {
    if (video.readyState >= 2) {
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      if (canvas.id === 'camera') framesDrawn += 1;
    }
    requestAnimationFrame(draw);
  };
  return video.play().then(() => { draw(); return stream.getVideoTracks()[0].label; });
}

navigator.mediaDevices.getUserMedia({ video: true, audio: true })
  .then((stream) => drawInto(document.getElementById('camera'), stream))
  .then((label) => { result.camera = 'live: ' + label; })
  .catch((e) => { result.camera = 'error: ' + e.name + ': ' + e.message; });

(async () => {
  const port = new URLSearchParams(location.search).get('wt');
  const hash = await (await fetch('/api/v1/webtransport/certificate-hash')).json();
  const transport = new WebTransport(`https://127.0.0.1:${port}/lobby/selftest/harness?ext=1`, {
    serverCertificateHashes: [{ algorithm: hash.algorithm, value: new Uint8Array(hash.value) }],
  });
  await transport.ready;
  result.webtransport = 'ready';
  // The server's first packet (the Welcome) arrives on its own unidirectional stream.
  const streams = transport.incomingUnidirectionalStreams.getReader();
  const { value: stream } = await streams.read();
  console.log("selftest: first WebTransport stream from the server");
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    result.welcomeBytes += value.byteLength;
  }
  result.webtransport = 'received';
})().catch((e) => { result.webtransport = 'error: ' + e; });

document.getElementById('share').addEventListener('click', () => {
  result.screen = 'pending';
  navigator.mediaDevices.getDisplayMedia({ video: true })
    .then((stream) => drawInto(document.getElementById('screen'), stream))
    .then((label) => { result.screen = 'live: ' + label; })
    .catch((e) => { result.screen = 'error: ' + e.name + ': ' + e.message; });
});
