// Drawing on canvases: heatmaps (the Playground's orange-grey-blue scale, or one hue per class),
// data points, the loss chart, the gradient-norm strip and the data set icons.

const ORANGE = [245, 147, 34], GREY = [232, 234, 235], BLUE = [8, 119, 189];
// class colours for 3+ classes; the first two are the Playground's -1 / +1 colours
export const CLASS_COLOURS = [ORANGE, BLUE, [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75]];

const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));

// value in [-1, 1] -> [r, g, b]: orange at -1, grey at 0, blue at +1 (d3 linear, clamped)
export function signedColour(v) {
  const t = Math.max(-1, Math.min(1, v));
  return t < 0 ? mix(GREY, ORANGE, -t) : mix(GREY, BLUE, t);
}

// 256-entry table for bytes from the server (0 = -1, 255 = +1), plus a discretized one
const LUT = [], LUT_DISCRETE = [];
for (let i = 0; i < 256; i++) {
  const v = i / 127.5 - 1;
  LUT.push(signedColour(v));
  LUT_DISCRETE.push(signedColour(v >= 0 ? 1 : -1));
}

export function decode(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const scratch = new Map();  // size -> offscreen canvas, to scale small maps up smoothly
function offscreen(size) {
  if (!scratch.has(size)) {
    const c = document.createElement("canvas");
    c.width = c.height = size;
    scratch.set(size, c);
  }
  return scratch.get(size);
}

// Draw a size x size map of bytes onto `canvas` (any display size). `classes` (bytes, optional) gives
// the winning class per cell, `values` its confidence; `k` the number of classes.
export function drawMap(canvas, values, size, { discretize = false, classes = null, k = 2 } = {}) {
  const off = offscreen(size);
  const octx = off.getContext("2d");
  const img = octx.createImageData(size, size);
  const lut = discretize ? LUT_DISCRETE : LUT;
  for (let i = 0; i < size * size; i++) {
    let rgb;
    if (classes) {
      const conf = values[i] / 255;                       // max probability, 1/k .. 1
      const t = discretize ? 1 : Math.max(0, (conf - 1 / k) / (1 - 1 / k));
      rgb = mix(GREY, CLASS_COLOURS[classes[i] % CLASS_COLOURS.length], 0.25 + 0.75 * t);
    } else {
      rgb = lut[values[i]];
    }
    img.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  octx.putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = !discretize;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// Points [x, y, label] over [-domain, domain]^2; test points get a dark outline as in the Playground.
export function drawPoints(canvas, points, { classes, domain = 6, test = false }) {
  const ctx = canvas.getContext("2d");
  const s = canvas.width / (2 * domain);
  for (const [x, y, label] of points) {
    let rgb;
    if (classes === 0) rgb = signedColour(label);
    else if (classes === 2) rgb = label > 0 ? BLUE : ORANGE;
    else rgb = CLASS_COLOURS[label % CLASS_COLOURS.length];
    ctx.beginPath();
    ctx.arc((x + domain) * s, (domain - y) * s, 2.6, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${rgb})`;
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = test ? "#000" : "#fff";
    ctx.stroke();
  }
}

// The loss chart: test (dark) and training (grey) loss over epochs, growing to the right.
export function drawLossChart(canvas, train, test) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const all = train.concat(test).filter(Number.isFinite);
  if (all.length === 0) return;
  const top = Math.max(...all, 1e-9);
  const line = (series, colour) => {
    ctx.beginPath();
    const n = series.length;
    series.forEach((v, i) => {
      const x = n < 2 ? 0 : (i / (n - 1)) * (w - 1);
      const y = h - 1 - (Math.min(Number.isFinite(v) ? v : top, top) / top) * (h - 4);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  };
  line(train, "#999");
  line(test, "#222");
}

// Per-layer gradient norms over time: one row per layer, one column per epoch (the last 300 at
// most, oldest at the left), coloured by log10 of the norm from 1e-6 (dark) to 10 (bright yellow).
const STRIP_LOW = [32, 32, 58], STRIP_MID = [200, 60, 90], STRIP_HIGH = [250, 220, 70];
export function drawGradStrip(canvas, history, layers) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.fillStyle = `rgb(${STRIP_LOW})`;
  ctx.fillRect(0, 0, w, h);
  if (!layers) return;
  const rowH = h / layers;
  const cols = history.slice(-300);
  const colW = w / Math.max(cols.length, 100);
  cols.forEach((norms, c) => {
    for (let l = 0; l < layers && l < norms.length; l++) {
      const v = norms[l] > 0 ? Math.log10(norms[l]) : -6;
      const t = Math.max(0, Math.min(1, (v + 6) / 7));
      ctx.fillStyle = `rgb(${t < 0.5 ? mix(STRIP_LOW, STRIP_MID, 2 * t) : mix(STRIP_MID, STRIP_HIGH, 2 * t - 1)})`;
      ctx.fillRect(Math.floor(c * colW), l * rowH, Math.ceil(colW), Math.ceil(rowH));
    }
  });
}

// Small previews of the data sets (the shapes only, drawn from fixed pseudo-random points).
export function drawDatasetIcon(canvas, name) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const px = (x) => ((x + 6) / 12) * w;
  const dot = (x, y, rgb) => {
    ctx.fillStyle = `rgb(${rgb})`;
    ctx.fillRect(px(x) - 1.5, px(-y) - 1.5, 3, 3);
  };
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, w);
  if (name === "reg-plane" || name === "reg-gauss") {
    const bumps = [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]];
    for (let i = 0; i < 400; i++) {
      const x = rnd() * 12 - 6, y = rnd() * 12 - 6;
      let v = (x + y) / 10;
      if (name === "reg-gauss") {
        v = 0;
        for (const [cx, cy, s] of bumps) {
          const b = s * Math.max(0, 1 - Math.hypot(x - cx, y - cy) / 2);
          if (Math.abs(b) > Math.abs(v)) v = b;
        }
      }
      dot(x, y, signedColour(v));
    }
    return;
  }
  for (let i = 0; i < 300; i++) {
    const pos = i % 2 === 0;
    let x, y;
    if (name === "circle") {
      const r = pos ? rnd() * 2.5 : 3.5 + rnd() * 1.5, a = rnd() * 2 * Math.PI;
      x = r * Math.sin(a); y = r * Math.cos(a);
    } else if (name === "xor") {
      x = rnd() * 10 - 5; y = rnd() * 10 - 5;
      dot(x, y, x * y >= 0 ? BLUE : ORANGE);
      continue;
    } else if (name === "gauss") {
      const c = pos ? 2 : -2;
      x = c + (rnd() + rnd() + rnd() - 1.5) * 2; y = c + (rnd() + rnd() + rnd() - 1.5) * 2;
    } else if (name === "spiral") {
      const t = (i / 2 / 150), r = 5 * t, a = 1.75 * t * 2 * Math.PI + (pos ? 0 : Math.PI);
      x = r * Math.sin(a); y = r * Math.cos(a);
    } else {  // custom: a question mark's worth of scattered points
      x = rnd() * 10 - 5; y = rnd() * 10 - 5;
      dot(x, y, [120, 120, 120]);
      continue;
    }
    dot(x, y, pos ? BLUE : ORANGE);
  }
}
