// The Playground page: one WebSocket to the Axonal server, which owns the network and trains it.
// The page sends control messages and draws the frames it receives; after drawing a frame it sends
// an ack, and the server never has more than two frames unacknowledged, so training runs at the
// speed the page can draw. `window.playground` exposes the state for tests and the console.
import { Controls, applyHidden, buildClassroom } from "./controls.js";
import { NetworkView } from "./network.js";
import { CLASS_COLOURS, decode, drawGradStrip, drawLossChart, drawMap, drawPoints } from "./plots.js";
import { parseHash, writeHash } from "./urlstate.js";

const $ = (id) => document.getElementById(id);
const LABELS = { x: "X\u2081", y: "X\u2082", xSquared: "X\u2081\u00b2", ySquared: "X\u2082\u00b2",
  xTimesY: "X\u2081X\u2082", sinX: "sin(X\u2081)", sinY: "sin(X\u2082)" };
const THUMB = 25;

const state = {
  ws: null, sid: null, schema: null, features: [], grid: 50, config: null, rev: -1, classes: 2,
  page: null, hidden: new Set(), train: [], test: [], lossTrain: [], lossTest: [], gradHist: [],
  lastFrame: null, focus: null, playing: false, epoch: 0, errors: [], frames: 0, controls: null,
  pendingHash: null,
};
window.playground = state;

let net = null, errorTimer = null, retry = 500;

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}
const sendConfig = (changes) => send({ type: "config", config: changes });

function showError(text) {
  state.errors.push(text);
  const box = $("error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function saveHash() {
  if (!state.config) return;
  writeHash(state.config, state.page, state.hidden);
  $("share-url").value = location.href;
}

// -- messages from the server -------------------------------------------------------------------
function onHello(msg) {
  state.sid = msg.session;
  state.schema = msg.schema;
  state.features = msg.features;
  state.grid = msg.grid;
  $("export-script").href = `/export/${msg.session}/script`;
  $("export-weights").href = `/export/${msg.session}/weights`;
  const parsed = parseHash(location.hash, msg.schema);
  if (!state.controls) {
    state.page = parsed.page;
    state.hidden = parsed.hidden;
    state.controls = new Controls(msg.schema, sendConfig);
    buildClassroom(state.hidden, saveHash);
    $("showTestData").checked = state.page.showTestData;
    $("discretize").checked = state.page.discretize;
    $("hideText").checked = state.page.hideText;
    $("article").hidden = state.page.hideText;
  }
  parsed.warnings.forEach(showError);
  // the URL's settings go to the server, which validates them and answers with a setup
  // (lenient: a bad key is reported and skipped, the rest of the link still applies)
  if (Object.keys(parsed.config).length) send({ type: "config", config: parsed.config, lenient: true });
  document.body.dataset.connected = "true";
}

function onSetup(msg) {
  state.rev = msg.rev;
  state.config = msg.config;
  state.classes = msg.classes;
  state.train = msg.train;
  state.test = msg.test;
  state.lossTrain = [];
  state.lossTest = [];
  state.gradHist = [];
  state.lastFrame = null;
  state.controls.show(msg.config, msg.customLoaded);
  net.build({ config: msg.config, features: state.features, labels: LABELS, classes: msg.classes, thumbSize: THUMB });
  net.setFeatureMaps(msg.featureMaps);
  const layers = msg.config.networkShape.length + 1;
  const strip = $("grad-strip");
  strip.height = Math.max(72, layers * 13);  // a row per layer, tall enough for its label
  strip.style.height = `${strip.height}px`;
  $("grad-labels").innerHTML = Array.from({ length: layers },
    (_, l) => `<div><b>${l + 1 === layers ? "out" : `L${l + 1}`}</b> <span></span></div>`).join("");
  drawLegend();
  saveHash();
  document.body.dataset.rev = String(msg.rev);
}

function onFrame(msg) {
  send({ type: "ack" });
  if (msg.rev !== state.rev) return;  // describes a network that has since been rebuilt
  state.frames += 1;
  state.epoch = msg.epoch;
  const n = state.lossTest.length;
  if (n && state.lastFrame && state.lastFrame.epoch === msg.epoch) {
    state.lossTrain[n - 1] = msg.trainLoss;
    state.lossTest[n - 1] = msg.testLoss;
  } else {
    state.lossTrain.push(msg.trainLoss);
    state.lossTest.push(msg.testLoss);
    if (msg.epoch > 0) state.gradHist.push(msg.gradNorms);  // epoch 0 has no gradients yet
  }
  state.lastFrame = msg;
  state.playing = msg.playing;
  draw();
}

function fmtLoss(v) {
  return v === null || v === undefined ? "NaN" : v.toFixed(3);
}

function draw() {
  const f = state.lastFrame;
  if (!f) return;
  $("epoch").textContent = String(f.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("loss-test").textContent = fmtLoss(f.testLoss);
  $("loss-train").textContent = fmtLoss(f.trainLoss);
  document.body.dataset.epoch = String(f.epoch);
  drawLossChart($("loss-chart"), state.lossTrain, state.lossTest);
  const discretize = state.page.discretize;
  const focused = state.focus && f.focus && f.focus.node === state.focus;
  if (focused) {
    drawMap($("heatmap"), decode(f.focus.map), state.grid, { discretize });
    const name = state.focus === "out" ? "the output" : state.focus.startsWith("out")
      ? `class ${state.focus.slice(3)} probability` : state.focus;
    $("heatmap-caption").textContent = `showing ${name}`;
  } else {
    const classes = f.outputClasses ? decode(f.outputClasses) : null;
    drawMap($("heatmap"), decode(f.output), state.grid, { discretize, classes, k: state.classes });
    $("heatmap-caption").textContent = "";
  }
  const pts = $("points");
  pts.getContext("2d").clearRect(0, 0, pts.width, pts.height);
  drawPoints(pts, state.train, { classes: state.classes });
  if (state.page.showTestData) drawPoints(pts, state.test, { classes: state.classes, test: true });
  net.update(f, discretize, state.grid);
  net.setPlaying(state.playing);
  setPlayButton(state.playing);
  drawGradStrip($("grad-strip"), state.gradHist, f.gradNorms.length);
  const rows = $("grad-labels").children;
  f.gradNorms.forEach((g, l) => {
    if (rows[l]) rows[l].lastChild.textContent = g ? g.toExponential(1) : "0";
  });
}

function drawLegend() {
  const k = state.classes;
  if (k > 2) {
    $("legend").innerHTML = CLASS_COLOURS.slice(0, k)
      .map((c, i) => `<span><i style="background:rgb(${c})"></i>class ${i}</span>`).join(" ");
  } else {
    $("legend").innerHTML = k === 0
      ? `<span class="ramp"></span> &minus;1 &hellip; 0 &hellip; +1`
      : `<span><i style="background:rgb(245,147,34)"></i>&minus;1</span> <span><i style="background:rgb(8,119,189)"></i>+1</span>`;
  }
}

function setPlayButton(playing) {
  $("play").classList.toggle("playing", playing);  // CSS swaps the play and pause icons
}

function onMessage(event) {
  let msg;
  try {
    msg = JSON.parse(event.data);
  } catch (e) {
    showError(`bad message from the server: ${e}`);
    return;
  }
  switch (msg.type) {
    case "hello": onHello(msg); break;
    case "setup": onSetup(msg); break;
    case "frame": onFrame(msg); break;
    case "config":
      state.config = msg.config;
      state.controls.show(msg.config, true);
      saveHash();
      break;
    case "status":
      state.playing = msg.playing;
      setPlayButton(msg.playing);
      net.setPlaying(msg.playing);
      break;
    case "error": showError(msg.message); break;
    default: break;
  }
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => { $("conn").textContent = "connected"; $("conn").className = "conn ok"; retry = 500; };
  ws.onmessage = onMessage;
  ws.onclose = () => {
    // a new connection is a new session; the URL carries the settings over
    $("conn").textContent = "disconnected, retrying…";
    $("conn").className = "conn bad";
    document.body.dataset.connected = "false";
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 8000);
  };
}

// -- wiring the page ----------------------------------------------------------------------------
function changeShape(mutate) {
  const shape = [...state.config.networkShape];
  mutate(shape);
  sendConfig({ networkShape: shape });
}

function wire() {
  net = new NetworkView($("network"), $("tooltip"), {
    toggleFeature: (name) => sendConfig({ [name]: !state.config[name] }),
    focus: (id) => { state.focus = id; send({ type: "focus", node: id }); if (!id) draw(); },
    editWeight: (msg) => send({ type: "setWeight", ...msg }),
    neurons: (layer, delta) => changeShape((s) => {
      s[layer] = Math.max(1, Math.min(state.schema.networkShape.maxNeurons, s[layer] + delta));
    }),
  });
  $("play").addEventListener("click", () => {
    state.playing = !state.playing;
    setPlayButton(state.playing);
    send({ type: state.playing ? "play" : "pause" });
  });
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("regenerate").addEventListener("click", () => send({ type: "regenerate" }));
  $("add-layer").addEventListener("click", () => changeShape((s) => {
    if (s.length < state.schema.networkShape.maxLayers) s.push(2);
  }));
  $("remove-layer").addEventListener("click", () => changeShape((s) => s.pop()));
  for (const key of ["showTestData", "discretize", "hideText"]) {
    $(key).addEventListener("change", (e) => {
      state.page[key] = e.target.checked;
      $("article").hidden = state.page.hideText;
      saveHash();
      draw();
    });
  }
  $("custom-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      $("custom-csv").value = reader.result;
      send({ type: "customData", csv: reader.result });
    };
    reader.readAsText(file);
  });
  $("custom-load").addEventListener("click", () => send({ type: "customData", csv: $("custom-csv").value }));
  $("export").addEventListener("click", () => { if (state.sid) location.href = `/export/${state.sid}/zip`; });
  applyHidden(state.hidden);
  connect();
}

wire();
