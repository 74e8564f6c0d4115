// The settings controls: menus, sliders, data set tiles and buttons. Menus are filled from the
// server's schema; every change calls `send(changes)` with a partial config, and the controls only
// show what the server's validated config says (`show(config)`), never their own guess.
import { drawDatasetIcon } from "./plots.js";
import { HIDEABLE } from "./urlstate.js";

const $ = (id) => document.getElementById(id);

const LABELS = {
  relu: "ReLU", tanh: "Tanh", sigmoid: "Sigmoid", linear: "Linear", none: "None",
  L1: "L1", L2: "L2", classification: "Classification", regression: "Regression",
  sgd: "SGD", momentum: "SGD + momentum", adam: "Adam",
  circle: "Circle", xor: "Exclusive or", gauss: "Gaussian", spiral: "Spiral", custom: "Your data",
  "reg-plane": "Plane", "reg-gauss": "Multi Gaussian",
};
const MENUS = ["learningRate", "activation", "regularization", "regularizationRate", "problem",
  "optimizer", "dropout", "classes"];
const SLIDERS = ["percTrainData", "noise", "batchSize"];

export class Controls {
  constructor(schema, send) {
    this.schema = schema;
    this.send = send;
    for (const name of MENUS) this._menu(name);
    for (const name of SLIDERS) this._slider(name);
    $("batchNorm").addEventListener("change", (e) => send({ batchNorm: e.target.checked }));
    this._datasets();
  }

  _menu(name) {
    const spec = this.schema[name];
    const select = $(name);
    let options = spec.choices || spec.menu;
    if (spec.kind === "int") options = Array.from({ length: spec.max - spec.min + 1 }, (_, i) => spec.min + i);
    for (const v of options) {
      const opt = document.createElement("option");
      opt.value = String(v);
      opt.textContent = LABELS[v] ?? String(v);
      select.appendChild(opt);
    }
    select.addEventListener("change", () => {
      const raw = select.value;
      this.send({ [name]: spec.kind === "choice" ? raw : Number(raw) });
    });
  }

  _slider(name) {
    const spec = this.schema[name];
    const input = $(name);
    input.min = spec.min;
    input.max = spec.max;
    input.addEventListener("input", () => { $(`${name}-value`).textContent = input.value; });
    input.addEventListener("change", () => this.send({ [name]: Number(input.value) }));
  }

  _datasets() {
    const box = $("datasets");
    const own = (names) => names.filter((n) => n !== "custom");
    const names = [...own(this.schema.dataset.choices), ...own(this.schema.regDataset.choices), "custom"];
    for (const name of names) {
      const tile = document.createElement("div");
      tile.className = "dataset";
      tile.dataset.dataset = name;
      tile.title = LABELS[name] ?? name;
      const c = document.createElement("canvas");
      c.width = c.height = 48;
      drawDatasetIcon(c, name);
      tile.appendChild(c);
      tile.addEventListener("click", () => {
        if (name === "custom") {
          $("custom-details").open = true;
          if (!this.customLoaded) return;  // nothing to switch to before a CSV is loaded
        }
        const regression = name.startsWith("reg-");
        const key = regression || (name === "custom" && this.config.problem === "regression") ? "regDataset" : "dataset";
        this.send({ [key]: name });
      });
      box.appendChild(tile);
    }
  }

  // Show a validated config (from the server) in every control.
  show(config, customLoaded) {
    this.config = config;
    this.customLoaded = customLoaded;
    for (const name of MENUS) $(name).value = String(config[name]);
    // a value from a URL that is not in the menu (e.g. learningRate=0.05) still shows
    for (const name of ["learningRate", "regularizationRate", "dropout"]) {
      const select = $(name);
      if (select.value !== String(config[name])) {
        const opt = document.createElement("option");
        opt.value = opt.textContent = String(config[name]);
        select.appendChild(opt);
        select.value = opt.value;
      }
    }
    for (const name of SLIDERS) {
      $(name).value = config[name];
      $(`${name}-value`).textContent = config[name];
    }
    $("batchNorm").checked = config.batchNorm;
    const regression = config.problem === "regression";
    const current = regression ? config.regDataset : config.dataset;
    document.querySelectorAll(".dataset").forEach((tile) => {
      const name = tile.dataset.dataset;
      const fits = name === "custom" || name.startsWith("reg-") === regression;
      tile.hidden = !fits;
      tile.classList.toggle("selected", name === current);
    });
    $("classes-box").hidden = regression || config.dataset !== "spiral";
    const n = config.networkShape.length;
    $("layer-count").textContent = `${n} HIDDEN LAYER${n === 1 ? "" : "S"}`;
    $("regularizationRate").disabled = config.regularization === "none";
  }
}

// The classroom panel: one checkbox per hideable control; hidden ones get `display: none`.
export function buildClassroom(hidden, onChange) {
  const box = $("hide-boxes");
  for (const name of HIDEABLE) {
    const label = document.createElement("label");
    const cb = document.createElement("input");
    cb.type = "checkbox";
    cb.dataset.hide = name;
    cb.checked = hidden.has(name);
    cb.addEventListener("change", () => {
      if (cb.checked) hidden.add(name); else hidden.delete(name);
      applyHidden(hidden);
      onChange();
    });
    label.append(cb, ` ${name}`);
    box.appendChild(label);
  }
  applyHidden(hidden);
}

export function applyHidden(hidden) {
  document.querySelectorAll("[data-control]").forEach((e) => {
    e.classList.toggle("ui-hidden", hidden.has(e.dataset.control));
  });
}
