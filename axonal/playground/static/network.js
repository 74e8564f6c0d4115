// The network diagram: feature nodes (click to toggle), hidden neurons with their heatmap
// thumbnails, the output node, and links coloured and sized by weight. Hovering a node shows its
// map large; hovering a link or a bias shows its value, and clicking it edits it.
import { decode, drawMap, signedColour } from "./plots.js";

const NODE = 30, GAP = 40, TOP = 36, LEFT = 92, SVGNS = "http://www.w3.org/2000/svg";

const el = (tag, cls, parent) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
};

export class NetworkView {
  constructor(container, tooltip, handlers) {
    this.root = container;
    this.tooltip = tooltip;
    this.on = handlers;   // toggleFeature(name), focus(id|null), editWeight(msg), neurons(layer, delta)
    this.links = [];      // per layer: [{path, to, from}]
    this.biases = [];     // per layer: [element]
    this.canvases = {};   // node id -> thumbnail canvas
  }

  // Rebuild everything for a network shape: called on every `setup` from the server.
  build({ config, features, labels, classes, thumbSize }) {
    this.root.textContent = "";
    this.config = config;
    this.classes = classes;
    this.thumbSize = thumbSize;
    this.active = features.filter((f) => config[f]);
    const shape = config.networkShape;
    const width = Math.max(this.root.clientWidth, 360);
    const cols = shape.length + 1;
    const step = Math.max(52, (width - LEFT - NODE - 12) / cols);  // 10 layers still fit ~720 px
    const rows = Math.max(features.length, ...shape, 1);
    const height = TOP + rows * GAP + 8;
    this.root.style.height = `${height}px`;
    this.root.style.minWidth = `${LEFT + cols * step + NODE + 12}px`;
    const svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("width", LEFT + cols * step + NODE + 12);
    svg.setAttribute("height", height);
    svg.classList.add("links");
    this.root.appendChild(svg);
    this.svg = svg;
    this.canvases = {};

    const pos = {};  // node id -> [x, y] of its top-left corner
    features.forEach((f, i) => { pos[f] = [LEFT - NODE, TOP + i * GAP]; });
    shape.forEach((n, l) => {
      const y0 = TOP + ((rows - n) * GAP) / 2;
      for (let i = 0; i < n; i++) pos[`h${l}_${i}`] = [LEFT + (l + 1) * step - NODE, y0 + i * GAP];
    });
    // one output node, or one per class (3+ classes: each shows its class probability)
    const outs = classes > 2 ? [...Array(classes).keys()].map((k) => `out${k}`) : ["out"];
    outs.forEach((id, k) => { pos[id] = [LEFT + cols * step, TOP + ((rows - outs.length) * GAP) / 2 + k * GAP]; });

    // links first, so nodes sit on top
    const layerNodes = [this.active, ...shape.map((n, l) => [...Array(n).keys()].map((i) => `h${l}_${i}`)), outs];
    this.links = [];
    for (let l = 0; l + 1 < layerNodes.length; l++) {
      const row = [];
      layerNodes[l + 1].forEach((to, ti) => {
        layerNodes[l].forEach((from, fi) => row.push(this._link(pos[from], pos[to], l, ti, fi)));
      });
      this.links.push(row);
    }
    features.forEach((f, i) => this._featureNode(f, labels[f], pos[f], this.config[f]));
    this.biases = [];
    shape.forEach((n, l) => {
      const row = [];
      for (let i = 0; i < n; i++) row.push(this._node(`h${l}_${i}`, pos[`h${l}_${i}`], l, i));
      this.biases.push(row);
      this._layerButtons(l, n, pos[`h${l}_0`][0]);
    });
    this.biases.push(outs.map((id, k) => this._node(id, pos[id], shape.length, k)));
  }

  _link([x1, y1], [x2, y2], layer, to, from) {
    const path = document.createElementNS(SVGNS, "path");
    const sx = x1 + NODE, sy = y1 + NODE / 2, ex = x2, ey = y2 + NODE / 2, mx = (sx + ex) / 2;
    path.setAttribute("d", `M${sx},${sy} C${mx},${sy} ${mx},${ey} ${ex},${ey}`);
    path.classList.add("link");
    path.dataset.layer = layer;
    path.dataset.to = to;
    path.dataset.from = from;
    path.addEventListener("mouseenter", (e) => this._tip(e, `weight ${path.dataset.value ?? ""}`));
    path.addEventListener("mousemove", (e) => this._tip(e));
    path.addEventListener("mouseleave", () => this._tip(null));
    path.addEventListener("click", (e) => this._edit(e, { layer, to, from }, path.dataset.value));
    this.svg.appendChild(path);
    return path;
  }

  _featureNode(name, label, [x, y], on) {
    const node = el("div", `node feature${on ? " active" : ""}`, this.root);
    node.id = `node-${name}`;
    node.dataset.feature = name;
    node.title = `${label}: click to ${on ? "remove" : "add"} this input`;
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
    const c = el("canvas", "", node);
    c.width = c.height = this.thumbSize;
    this.canvases[name] = c;
    const text = el("span", "feature-label", node);
    text.textContent = label;
    node.addEventListener("click", () => this.on.toggleFeature(name));
    if (on) this._hover(node, name);
  }

  _node(id, [x, y], layer, index) {
    const node = el("div", `node neuron${id.startsWith("out") ? " output" : ""}`, this.root);
    node.id = `node-${id}`;
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
    const c = el("canvas", "", node);
    c.width = c.height = id === "out" ? 50 : this.thumbSize;
    this.canvases[id] = c;
    this._hover(node, id);
    const bias = el("div", "bias", node);
    bias.addEventListener("mouseenter", (e) => { e.stopPropagation(); this._tip(e, `bias ${bias.dataset.value ?? ""}`); });
    bias.addEventListener("mouseleave", () => this._tip(null));
    bias.addEventListener("click", (e) => {
      e.stopPropagation();
      this._edit(e, { layer, to: index, from: "bias" }, bias.dataset.value);
    });
    return bias;
  }

  _hover(node, id) {
    node.addEventListener("mouseenter", () => { node.classList.add("hovered"); this.on.focus(id); });
    node.addEventListener("mouseleave", () => { node.classList.remove("hovered"); this.on.focus(null); });
  }

  _layerButtons(layer, n, x) {
    const box = el("div", "layer-buttons", this.root);
    box.style.left = `${x - 10}px`;
    box.style.top = "0px";
    const minus = el("button", "layer-minus", box);
    minus.textContent = "\u2212";
    minus.dataset.layer = layer;
    minus.title = "remove a neuron";
    const plus = el("button", "layer-plus", box);
    plus.textContent = "+";
    plus.dataset.layer = layer;
    plus.title = "add a neuron";
    minus.addEventListener("click", () => this.on.neurons(layer, -1));
    plus.addEventListener("click", () => this.on.neurons(layer, +1));
    const count = el("div", "layer-count", box);
    count.textContent = `${n} neuron${n === 1 ? "" : "s"}`;
  }

  setFeatureMaps(maps) {
    for (const [name, b64] of Object.entries(maps)) {
      if (this.canvases[name]) drawMap(this.canvases[name], decode(b64), this.thumbSize);
    }
  }

  // One frame: thumbnails, the output node, link colours/widths and bias values.
  update(frame, discretize, grid) {
    frame.neurons.forEach((layer, l) => layer.forEach((b64, i) => {
      const c = this.canvases[`h${l}_${i}`];
      if (c) drawMap(c, decode(b64), this.thumbSize, { discretize });
    }));
    (frame.outputNodes || []).forEach((b64, k) => {
      const c = this.canvases[`out${k}`];
      if (c) drawMap(c, decode(b64), this.thumbSize, { discretize });
    });
    if (this.canvases.out) {
      const classes = frame.outputClasses ? decode(frame.outputClasses) : null;
      drawMap(this.canvases.out, decode(frame.output), grid, { discretize, classes, k: this.classes });
    }
    frame.weights.forEach((w, l) => {
      const row = this.links[l] || [];
      row.forEach((path, k) => {
        const v = w[k];
        path.dataset.value = v === null ? "NaN" : v.toPrecision(3);
        const mag = v === null ? 0 : Math.abs(v);
        path.style.strokeWidth = `${Math.min(1 + (mag / 5) * 9, 10)}px`;  // the Playground's [0,5]->[1,10]
        path.style.stroke = `rgb(${signedColour(v ?? 0)})`;
      });
    });
    frame.biases.forEach((b, l) => (this.biases[l] || []).forEach((box, i) => {
      const v = b[i];
      box.dataset.value = v === null ? "NaN" : v.toPrecision(3);
      box.style.background = `rgb(${signedColour(v ?? 0)})`;
    }));
  }

  setPlaying(on) {
    this.root.classList.toggle("playing", on);
  }

  _tip(event, text) {
    const tip = this.tooltip;
    if (event === null) { tip.hidden = true; return; }
    if (text !== undefined) tip.textContent = text;
    tip.hidden = false;
    tip.style.left = `${event.pageX + 12}px`;
    tip.style.top = `${event.pageY - 28}px`;
  }

  // Click on a link or bias: a small input box; Enter sends the new value, Escape cancels.
  _edit(event, target, current) {
    document.querySelectorAll(".weight-edit").forEach((e) => e.remove());
    const input = el("input", "weight-edit", document.body);
    input.type = "number";
    input.step = "0.1";
    input.value = current ?? "0";
    input.style.left = `${event.pageX}px`;
    input.style.top = `${event.pageY}px`;
    input.focus();
    input.select();
    const done = (send) => {
      if (send && input.value.trim() !== "") this.on.editWeight({ ...target, value: Number(input.value) });
      input.remove();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") done(true);
      if (e.key === "Escape") done(false);
    });
    input.addEventListener("blur", () => done(false));
  }
}
