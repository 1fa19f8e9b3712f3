// The browser phone (网页电话): the desk's seat phone, or the seat map's
// monitoring phone for the lead, inside the page, registered over the
// controller's /ws/sip relay with SIP.js (served from the hotline's own
// node_modules, never a CDN). Media flows between the browser and Asterisk
// (ICE, DTLS-SRTP); hold, transfer and three-way stay the desk's server-side
// controls, so they work the same from a desk phone.
//
// The page says where its credentials come from (#wpToggle data-endpoint)
// and whether every call is answered by itself (data-auto="always": the
// monitoring phone, rung only by the lead's own listen). Controls a page does
// not have are skipped.
import { Web } from "/vendor/sip.js/lib/index.js";

// A control the page does not have is a detached element of its own (one
// shared stand-in would carry one control's value into another's).
const $ = (id) => document.getElementById(id) || document.createElement("span");
const ENDPOINT = document.getElementById("wpToggle").dataset.endpoint || "/api/agent/webphone";
const ALWAYS = document.getElementById("wpToggle").dataset.auto === "always";
const STORE = "hotline.deskphone.";
const pref = (k, d) => localStorage.getItem(STORE + k) ?? d;
const setPref = (k, v) => localStorage.setItem(STORE + k, v);

let user = null, seat = "", muted = false, ringing = false, inCall = false, answeredAt = 0, micStream = null;
let ringTimer = null, audioCtx = null, levelTimer = null, wanted = false, starting = false;
let yielded = false;  // closed for good by the relay: only the agent's own click starts it again

function ctx() { audioCtx = audioCtx || new AudioContext(); return audioCtx; }
function show(id, on) { $(id).classList.toggle("hidden", !on); }
function state(text, cls) { $("wpState").textContent = text; $("wpState").className = "state " + (cls || ""); }
function say(text, ok) { if (window.deskSay) window.deskSay(text, ok); }

// A ring the agent hears even with the tab in the background: two short tones every 3 s.
function ring(on) {
  clearInterval(ringTimer); ringTimer = null;
  ringing = on;
  show("wpRinging", on);
  document.title = on ? "【来电】坐席工作台" : "坐席工作台 · 12345 市民服务热线";
  if (!on) return;
  const beep = () => {
    const c = ctx(), o = c.createOscillator(), g = c.createGain();
    o.frequency.value = 880; g.gain.value = 0.08; o.connect(g).connect(c.destination);
    o.start(); o.stop(c.currentTime + 0.4);
  };
  beep(); ringTimer = setInterval(beep, 3000);
}

function render() {
  $("wpAnswer").disabled = !ringing;
  $("wpHangup").disabled = !(ringing || inCall);
  $("wpMute").disabled = !inCall;
  $("wpMute").textContent = muted ? "取消静音" : "静音";
  $("wpMute").classList.toggle("on", muted);
  show("wpPad", inCall);
}

async function devices() {
  try {
    const list = await navigator.mediaDevices.enumerateDevices();
    const fill = (sel, kind, key) => {
      const chosen = pref(key, "");
      sel.innerHTML = list.filter(d => d.kind === kind).map((d, i) =>
        `<option value="${d.deviceId}">${d.label || (kind === "audioinput" ? "麦克风 " : "扬声器 ") + (i + 1)}</option>`).join("");
      if (chosen) sel.value = chosen;
    };
    fill($("wpMic"), "audioinput", "mic");
    fill($("wpSpeaker"), "audiooutput", "speaker");
  } catch (e) { /* no devices listed: the defaults are used */ }
}

// The microphone's level, so the agent sees the browser hears them before a call.
async function meter() {
  clearInterval(levelTimer);
  if (micStream) micStream.getTracks().forEach(t => t.stop());
  try {
    const id = $("wpMic").value;
    micStream = await navigator.mediaDevices.getUserMedia({ audio: id ? { deviceId: { exact: id } } : true });
    const an = ctx().createAnalyser(); an.fftSize = 512;
    ctx().createMediaStreamSource(micStream).connect(an);
    const buf = new Float32Array(an.fftSize);
    levelTimer = setInterval(() => {
      an.getFloatTimeDomainData(buf);
      const rms = Math.sqrt(buf.reduce((s, x) => s + x * x, 0) / buf.length);
      $("wpLevel").value = Math.min(1, rms * 4);
    }, 150);
    await devices();
  } catch (e) { state("无法使用麦克风：" + (e.message || e.name), "paused"); }
}

function constraints() {
  const id = $("wpMic").value;
  return { audio: id ? { deviceId: { exact: id } } : true, video: false };
}

async function start() {
  wanted = true; setPref("on", "1");
  // One phone per page: a second start while the first still fetches its
  // details (the seat's state arriving meanwhile) would register the seat
  // twice, and the relay's newer-wins would pass it to and fro for ever.
  if (user || starting) return;
  starting = true;
  let cfg;
  try {
    const r = await fetch(ENDPOINT, { method: "POST", headers: { "Content-Type": "application/json" } });
    cfg = await r.json();
    if (!r.ok) { state(cfg.message || "未能启用", "paused"); return; }
  } catch (e) { state("未能启用：" + e.message, "paused"); return; } finally { starting = false; }
  if (!wanted || user) return;  // turned off, or started, while the details came
  seat = cfg.seat;
  window.deskPhone.phone = seat;
  const server = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + cfg.ws_path;
  state("连接中…", "ringing");
  user = new Web.SimpleUser(server, {
    aor: cfg.aor,
    media: { constraints: constraints(), remote: { audio: $("wpAudio") } },
    reconnectionAttempts: 1000, reconnectionDelay: 3,
    userAgentOptions: {
      authorizationUsername: cfg.auth_user, authorizationPassword: cfg.password, displayName: cfg.seat,
      logLevel: "warn",
      sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] } },
    },
    delegate: {
      onServerConnect: () => { state("已连接，登记中…", "ringing"); user.register().catch(() => {}); },
      onServerDisconnect: () => {
        // Closed by the relay for good (another tab took the phone, the
        // agent left the seat, a refused request): no reconnecting, or two
        // tabs would take the phone from each other for ever.
        const code = sipClose; sipClose = 0;
        if (FINAL[code]) { drop(FINAL[code]); return; }
        state(wanted ? "连接断开，重连中…" : "未启用", wanted ? "paused" : "");
      },
      onRegistered: () => {
        state(`已登记（${seat}）`, "ready");
        document.dispatchEvent(new CustomEvent("webphone-registered", { detail: { phone: seat } }));
      },
      onUnregistered: () => { if (wanted) state("未登记", "paused"); },
      onCallReceived: () => {
        ring(true); render();
        if (ALWAYS) answer();
        else if ($("wpAuto").checked) setTimeout(() => { if (ringing) answer(); }, 1000);
      },
      onCallAnswered: () => { ring(false); inCall = true; answeredAt = Date.now(); render(); },
      onCallHangup: () => { ring(false); inCall = false; muted = false; render(); },
    },
  });
  window.deskPhone.user = user;
  try { await user.connect(); } catch (e) { state("连接失败，重试中…", "paused"); }
}

// SIP.js does not tell its user why the server closed the websocket: the
// relay's closing code is read here, from the phone's own socket only.
let sipClose = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    if (String(url).endsWith("/ws/sip")) this.addEventListener("close", (e) => { sipClose = e.code; });
  }
};

const FINAL = { 4409: "网页电话已在另一页面打开", 4401: "未启用（已退出座席）", 4403: "登记被拒绝" };

// Off without unregistering (the relay is gone) and without touching the
// saved choice (another tab of this browser shares it).
function drop(text) {
  wanted = false; yielded = true; $("wpToggle").checked = false;
  const old = user; user = null; window.deskPhone.user = null;
  if (old) old.disconnect().catch(() => {});
  ring(false); inCall = false; render();
  state(text, "paused");
}

async function stop() {
  wanted = false; setPref("on", "");
  if (user) { try { await user.unregister(); } catch (e) { /* going anyway */ } await user.disconnect(); }
  user = null; state("未启用", "");
}

async function answer() {
  if (!user || !ringing) return;
  ring(false);
  try {
    await user.answer({ sessionDescriptionHandlerOptions: { constraints: constraints() } });
    const sink = $("wpSpeaker").value;
    if (sink && $("wpAudio").setSinkId) await $("wpAudio").setSinkId(sink);
  } catch (e) { say("接听失败：" + (e.message || e), false); }
}
async function hangup() {
  if (!user) return;
  try { if (ringing) { ring(false); await user.decline(); } else await user.hangup(); } catch (e) { /* already gone */ }
}
function mute() {
  if (!user || !inCall) return;
  muted = !muted; muted ? user.mute() : user.unmute(); render();
  say(muted ? "已静音：市民听不到您" : "已取消静音", true);
}

// What the page receives from the caller, read with the Web Audio API:
// the level and the strongest frequency of the remote audio.
function remoteTone(ms = 600) {
  const stream = user && user.remoteMediaStream;
  if (!stream || !stream.getAudioTracks().length) return null;
  const an = ctx().createAnalyser(); an.fftSize = 4096;
  ctx().createMediaStreamSource(stream).connect(an);
  return new Promise(done => setTimeout(() => {
    const time = new Float32Array(an.fftSize), freq = new Float32Array(an.frequencyBinCount);
    an.getFloatTimeDomainData(time); an.getFloatFrequencyData(freq);
    const rms = Math.sqrt(time.reduce((s, x) => s + x * x, 0) / time.length);
    let best = 0; for (let i = 1; i < freq.length; i++) if (freq[i] > freq[best]) best = i;
    done({ rms, peak_hz: best * ctx().sampleRate / an.fftSize });
  }, ms));
}

function tick() {
  $("wpTimer").textContent = inCall ? window.deskFmt((Date.now() - answeredAt) / 1000) : "";
}

window.deskPhone = {
  get registered() { return $("wpState").classList.contains("ready"); },
  get ringing() { return ringing; }, get inCall() { return inCall; }, get muted() { return muted; },
  answer, hangup, mute, remoteTone, user: null,
};

$("wpToggle").onchange = () => { if ($("wpToggle").checked) { yielded = false; start(); meter(); } else stop(); };
$("wpAnswer").onclick = answer;
$("wpHangup").onclick = hangup;
$("wpMute").onclick = mute;
$("wpAuto").checked = pref("auto", "") === "1";
$("wpAuto").onchange = () => setPref("auto", $("wpAuto").checked ? "1" : "");
$("wpMic").onchange = () => { setPref("mic", $("wpMic").value); meter(); };
$("wpSpeaker").onchange = () => { setPref("speaker", $("wpSpeaker").value);
  if ($("wpAudio").setSinkId) $("wpAudio").setSinkId($("wpSpeaker").value).catch(() => {}); };
$("wpPad").onclick = (e) => {
  const k = e.target.closest("button"); if (!k || !user || !inCall) return;
  user.sendDTMF(k.dataset.key).catch(() => say("按键未能发送", false));
};
document.addEventListener("keydown", (e) => {
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  const act = { a: answer, h: hangup, m: mute }[e.key.toLowerCase()];
  if (act) { e.preventDefault(); act(); }
});
setInterval(tick, 1000);
render();
window.deskPhoneReady = (atSeat) => {
  // The phone follows the seat: on at login when the agent chose it, off at logout.
  if (atSeat && pref("on", "") === "1" && !user && !starting && !yielded) { $("wpToggle").checked = true; start(); meter(); }
  if (!atSeat && user) { $("wpToggle").checked = false; stop(); }
  else if (!atSeat) state("未启用", "");
};
